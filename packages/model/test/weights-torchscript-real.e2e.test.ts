/**
 * TorchScript archives written by PyTorch itself, when a Python with torch is at hand (Debian:
 * `apt-get install python3-torch`; or set TORCH_PYTHON). weights-torchscript.test.ts covers the
 * format with archives we write ourselves and always runs; this one checks that those match
 * what torch.jit.save really writes, scripted and traced, float32 and float16.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readStateDict, toFloat32 } from '../src/weights/index.ts';
import { findTorchPython } from '../../../test/support/torch-python.ts';
import { HAS_REFERENCE, REFERENCE_DIR } from './support/reference.ts';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'support/torchscript_clip.py');

const python = HAS_REFERENCE ? findTorchPython() : null;
if (HAS_REFERENCE && !python) console.warn('no Python with torch found (TORCH_PYTHON, python3, /usr/bin/python3): real TorchScript archive tests skipped');

interface Expected {
  key: string;
  shape: number[];
  dtype: string;
  sum: number;
}

describe.skipIf(!python)('TorchScript archives written by torch.jit.save', () => {
  it("read as exactly torch's own state_dict(): keys in order, shapes, dtypes, values", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aurora-jit-'));
    const made = spawnSync(python!, [SCRIPT, path.join(REFERENCE_DIR, 'tiny-full/clip_text.pth'), dir], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as Record<string, Expected[]>;
    expect(Object.keys(expected).sort()).toEqual(['scripted-half.pt', 'scripted.pt', 'traced.pt']);
    for (const [file, entries] of Object.entries(expected)) {
      const sd = readStateDict(new Uint8Array(fs.readFileSync(path.join(dir, file))));
      expect([...sd.keys()], file).toEqual(entries.map((e) => e.key));
      for (const e of entries) {
        const t = sd.get(e.key)!;
        expect(t.shape, `${file} ${e.key}`).toEqual(e.shape);
        expect(t.dtype, `${file} ${e.key}`).toBe(e.dtype);
        const values = t.dtype === 'int64' ? Array.from(t.data as BigInt64Array, Number) : Array.from(toFloat32(t).data);
        const sum = values.reduce((a, b) => a + b, 0);
        expect(Math.abs(sum - e.sum), `${file} ${e.key}`).toBeLessThanOrEqual(1e-9 * Math.max(1, values.reduce((a, b) => a + Math.abs(b), 0)));
      }
    }
  });
});
