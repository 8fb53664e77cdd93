import * as path from 'node:path';
import { expect } from 'vitest';
import { keysCommand } from '../../apps/edge/src/cli/keys.ts';
import type { NodeGateway } from '../../apps/edge/src/node.ts';
import { startGateway, tempDir } from './reliability.ts';

/** A key made the way an operator makes one: `aurora keys create ... --db <the gateway's database>`; returns its secret. */
export async function createKeyWithCli(db: string, name: string, origins = '*', rpm?: number): Promise<string> {
  const lines: string[] = [];
  const args = ['create', '--name', name, '--origins', origins, ...(rpm === undefined ? [] : ['--rpm', String(rpm)]), '--db', db];
  expect(await keysCommand(args, { out: (l) => lines.push(l), err: () => undefined })).toBe(0);
  return /ak_[0-9A-Za-z]{32}/.exec(lines.join('\n'))![0];
}

/** A gateway in AUTH_MODE=keys on a temp database (removeTempDirs cleans it), with one key for `name`. */
export async function startKeysGateway(name: string): Promise<{ gateway: NodeGateway; key: string }> {
  const db = path.join(tempDir(), 'cache.sqlite');
  const gateway = await startGateway({ DATABASE_PATH: db, AUTH_MODE: 'keys' });
  return { gateway, key: await createKeyWithCli(db, name) };
}
