/**
 * The model package stands alone: nothing in it imports the gateway app (apps/edge), the CLI that
 * composes them (@aurora-edge/cli) or any other workspace package, and it has no import whose
 * specifier is computed (a hidden dependency no bundler or reader can see). The one `aurora`
 * command lives in packages/cli and imports this package's table (@aurora-edge/model/cli).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/reference.ts';

const PACKAGE = path.join(REPO_ROOT, 'packages/model');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return /\.(ts|mts|js|mjs)$/.test(e.name) ? [p] : [];
  });
}

/** Every module specifier in a file: static imports and exports, and dynamic import() arguments as written. */
function specifiers(text: string): { static: string[]; dynamic: string[] } {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const found = [...code.matchAll(/(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]/gm)].map((m) => m[1]);
  const bare = [...code.matchAll(/(?:^|[\s;])import\s*['"]([^'"]+)['"]/gm)].map((m) => m[1]);
  const dynamic = [...code.matchAll(/\bimport\(\s*([^)]*)\)/g)].map((m) => m[1].trim());
  return { static: [...found, ...bare], dynamic };
}

describe('the model package layering', () => {
  const files = sources(path.join(PACKAGE, 'src'));

  it('finds the sources', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(files).toContain(path.join(PACKAGE, 'src/cli/commands.ts'));
  });

  it('imports nothing from the gateway, the CLI or another workspace package', () => {
    const offending: string[] = [];
    for (const file of files) {
      const { static: fixed, dynamic } = specifiers(fs.readFileSync(file, 'utf8'));
      for (const spec of [...fixed, ...dynamic.map((d) => d.replace(/^['"`]|['"`]$/g, ''))]) {
        const outside = spec.startsWith('.') && !path.resolve(path.dirname(file), spec).startsWith(`${PACKAGE}${path.sep}`);
        if (spec.startsWith('@aurora-edge/') || /apps\/edge|@aurora-edge\/(edge|cli)/.test(spec) || outside)
          offending.push(`${path.relative(REPO_ROOT, file)}: ${spec}`);
      }
    }
    expect(offending).toEqual([]);
  });

  it('has no import() of a computed specifier', () => {
    const computed = files.flatMap((file) =>
      specifiers(fs.readFileSync(file, 'utf8'))
        .dynamic.filter((arg) => !/^(['"])[^'"`$]+\1$/.test(arg))
        .map((arg) => `${path.relative(REPO_ROOT, file)}: import(${arg})`),
    );
    expect(computed).toEqual([]);
  });

  it("declares no dependency on a workspace package and no bin (the aurora command is @aurora-edge/cli's)", () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(PACKAGE, 'package.json'), 'utf8'));
    const deps = Object.keys({ ...manifest.dependencies, ...manifest.devDependencies, ...manifest.peerDependencies });
    expect(deps.filter((d) => d.startsWith('@aurora-edge/'))).toEqual([]);
    expect(manifest.bin).toBeUndefined();
  });
});
