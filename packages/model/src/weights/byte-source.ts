/**
 * Random-access input for the checkpoint readers.
 *
 * Why not just Uint8Array: the real Aurora checkpoint is ~4.7 GB, and Node 20 caps a typed
 * array at 4 GiB (fs.readFile at 2 GiB), so it cannot be held in one buffer at all. The zip
 * reader only ever needs the central directory, data.pkl and, per tensor, the bytes of that
 * tensor, so it reads through this interface and a file-backed source (fixture.ts,
 * `openFileByteSource`) keeps peak memory at "the tensors you asked for + one tensor".
 */
import { WeightsError } from './errors.ts';

export interface ByteSource {
  /** Total size in bytes. A number, not bigint: safe up to 2^53 bytes. */
  readonly byteLength: number;
  /**
   * Exactly `length` bytes starting at `offset`. The result may be a view of shared memory
   * (the in-memory source returns subarrays): callers copy before mutating or keeping.
   */
  read(offset: number, length: number): Uint8Array;
}

/** Input accepted by the readers: whole-file bytes or a random-access source. */
export type ByteInput = Uint8Array | ByteSource;

export function bytesSource(bytes: Uint8Array): ByteSource {
  return {
    byteLength: bytes.byteLength,
    read(offset, length) {
      checkRange(this.byteLength, offset, length);
      return bytes.subarray(offset, offset + length);
    },
  };
}

export function toByteSource(input: ByteInput): ByteSource {
  return input instanceof Uint8Array ? bytesSource(input) : input;
}

/** Shared bounds check so every source reports truncation the same way. */
export function checkRange(byteLength: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new WeightsError('corrupt', `invalid byte range (offset ${offset}, length ${length})`);
  }
  if (offset + length > byteLength) {
    throw new WeightsError(
      'truncated',
      `unexpected end of file: needed bytes ${offset}..${offset + length} but the file has ${byteLength} bytes`,
      { offset, length, byteLength },
    );
  }
}
