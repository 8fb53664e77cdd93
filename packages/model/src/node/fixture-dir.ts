import * as fs from 'node:fs';
import * as path from 'node:path';
import { type FixtureManifest, readFixtureManifest, readFixtureTensor } from './fixture.ts';
import type { HostTensor } from '../weights/index.ts';

/** A reference fixture folder (see shared/reference/MANIFEST.md), read lazily by relative path. */
export class FixtureDir {
  readonly manifest: FixtureManifest;

  constructor(readonly dir: string) {
    if (!fs.existsSync(path.join(dir, 'manifest.json'))) throw new Error(`${dir} is not a fixture folder (no manifest.json)`);
    this.manifest = readFixtureManifest(dir);
  }

  has(rel: string): boolean {
    return this.manifest.has(rel);
  }

  tensor(rel: string): HostTensor {
    return readFixtureTensor(this.dir, rel, { manifest: this.manifest });
  }

  floats(rel: string): Float32Array {
    const t = this.tensor(rel);
    if (t.dtype === 'float32') return t.data;
    if (t.dtype === 'float64') return Float32Array.from(t.data);
    throw new Error(`${rel}: expected a float tensor, got ${t.dtype}`);
  }

  ints(rel: string): number[] {
    const t = this.tensor(rel);
    if (t.dtype === 'int32' || t.dtype === 'uint8') return Array.from(t.data);
    throw new Error(`${rel}: expected an integer tensor, got ${t.dtype}`);
  }

  shape(rel: string): number[] {
    const e = this.manifest.get(rel);
    if (!e) throw new Error(`${rel} is not in ${this.dir}/manifest.json`);
    return e.shape;
  }

  json<T = unknown>(rel: string): T {
    return JSON.parse(fs.readFileSync(path.join(this.dir, rel), 'utf8')) as T;
  }

  file(rel: string): string {
    return path.join(this.dir, rel);
  }

  /** Manifest entries under a folder prefix, e.g. `outputs/psi_1.0/router/`. */
  list(prefix: string): string[] {
    return [...this.manifest.keys()].filter((k) => k.startsWith(prefix));
  }
}
