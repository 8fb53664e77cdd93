/**
 * Node-only file access for the weight layer: reference fixture folders (manifest.json + raw
 * little-endian binaries, see /work/shared/reference/MANIFEST.md) and a file-backed ByteSource
 * for checkpoints too large to hold in one buffer.
 *
 * It imports node:*, so it lives under the Node entry (`@aurora-edge/model/node`); the weight
 * readers themselves work on bytes and run in browsers and Cloudflare Workers.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { type ByteSource, checkRange } from '../weights/byte-source.ts';
import { WeightsError } from '../weights/errors.ts';
import { type HostTensor, arrayFromBytes, dtypeSize, formatShape, numel } from '../weights/tensor.ts';

const FIXTURE_EXTENSIONS = { '.f32': 'float32', '.f64': 'float64', '.i32': 'int32', '.u8': 'uint8' } as const;
type FixtureDType = (typeof FIXTURE_EXTENSIONS)[keyof typeof FIXTURE_EXTENSIONS];

const manifestSchema = z.record(
  z.string(),
  z.object({
    dtype: z.enum(['float32', 'float64', 'int32', 'uint8']),
    shape: z.array(z.number().int().nonnegative()),
    description: z.string().default(''),
    sha256: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  }),
);

export interface FixtureEntry {
  dtype: FixtureDType;
  shape: number[];
  description: string;
  sha256?: string;
}

/** Relative path (e.g. "outputs/w_avg.f32") -> entry, in manifest order. */
export type FixtureManifest = Map<string, FixtureEntry>;

export function readFixtureManifest(dir: string): FixtureManifest {
  const file = path.join(dir, 'manifest.json');
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new WeightsError('not-found', `cannot read fixture manifest ${file}: ${(error as Error).message}`, { file }, { cause: error });
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    throw new WeightsError('corrupt', `fixture manifest ${file} is malformed:\n${z.prettifyError(parsed.error)}`, { file });
  }
  return new Map(Object.entries(parsed.data));
}

export interface ReadFixtureOptions {
  /** Reuse an already parsed manifest instead of re-reading manifest.json. */
  manifest?: FixtureManifest;
  /** Check the file against the manifest's sha256 (off by default: it reads every byte twice). */
  verifySha256?: boolean;
}

/** Reads one fixture binary with the dtype and shape the manifest gives for it. */
export function readFixtureTensor(dir: string, relPath: string, options: ReadFixtureOptions = {}): HostTensor {
  const manifest = options.manifest ?? readFixtureManifest(dir);
  const entry = manifest.get(relPath);
  if (!entry) {
    throw new WeightsError('not-found', `fixture ${relPath} is not listed in ${path.join(dir, 'manifest.json')}`, { relPath });
  }
  const extension = path.extname(relPath) as keyof typeof FIXTURE_EXTENSIONS;
  if (FIXTURE_EXTENSIONS[extension] !== entry.dtype) {
    throw new WeightsError('corrupt', `fixture ${relPath}: extension ${extension} does not match manifest dtype ${entry.dtype}`, {
      relPath,
    });
  }
  const file = path.resolve(dir, relPath);
  if (path.relative(path.resolve(dir), file).startsWith('..')) {
    throw new WeightsError('not-found', `fixture path ${relPath} escapes ${dir}`, { relPath });
  }
  const bytes = fs.readFileSync(file);
  const expected = numel(entry.shape) * dtypeSize(entry.dtype);
  if (bytes.byteLength !== expected) {
    throw new WeightsError(
      bytes.byteLength < expected ? 'truncated' : 'corrupt',
      `fixture ${relPath} has ${bytes.byteLength} bytes; ${entry.dtype} ${formatShape(entry.shape)} needs ${expected}`,
      { relPath, byteLength: bytes.byteLength, expected },
    );
  }
  if (options.verifySha256 && entry.sha256) {
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== entry.sha256) {
      throw new WeightsError('corrupt', `fixture ${relPath} sha256 is ${actual}, manifest says ${entry.sha256}`, { relPath });
    }
  }
  return { dtype: entry.dtype, shape: [...entry.shape], data: arrayFromBytes(entry.dtype, bytes) } as HostTensor;
}

export interface FileByteSource extends ByteSource {
  readonly path: string;
  close(): void;
}

/**
 * Random-access reads from a file without loading it: the way to open checkpoints above the
 * 2-4 GiB single-buffer limits of Node 20. Close it when done (or use withFileByteSource).
 */
export function openFileByteSource(file: string): FileByteSource {
  const fd = fs.openSync(file, 'r');
  const byteLength = fs.fstatSync(fd).size;
  let closed = false;
  return {
    path: file,
    byteLength,
    read(offset, length) {
      if (closed) throw new Error(`file byte source for ${file} is closed`);
      checkRange(byteLength, offset, length);
      const out = new Uint8Array(length);
      for (let done = 0; done < length; ) {
        // readSync is capped at 2 GiB per call, so large ranges are read in chunks.
        const n = fs.readSync(fd, out, done, Math.min(length - done, 1 << 30), offset + done);
        if (n === 0) throw new WeightsError('truncated', `${file} ended early (it changed while being read?)`);
        done += n;
      }
      return out;
    },
    close() {
      if (!closed) fs.closeSync(fd);
      closed = true;
    },
  };
}

export function withFileByteSource<T>(file: string, use: (source: FileByteSource) => T): T {
  const source = openFileByteSource(file);
  try {
    return use(source);
  } finally {
    source.close();
  }
}
