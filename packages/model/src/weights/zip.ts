/**
 * Minimal random-access zip reader (central directory + per-entry reads), used for torch.save
 * archives.
 *
 * Why not fflate's unzipSync: it needs the whole archive in one Uint8Array and copies every
 * entry out of it, i.e. ~2x the checkpoint in memory, and a 4.7 GB checkpoint does not even fit
 * in one typed array on Node 20 (4 GiB cap). torch.save stores entries uncompressed and
 * 64-byte aligned, so reading the directory ourselves lets each tensor be read straight from
 * the source (a subarray for in-memory input, one positioned read for files). fflate inflates
 * the DEFLATE entries, which appear only if someone re-zipped the archive.
 *
 * Supports: stored and deflated entries, zip64 sizes/offsets. Not supported (clear errors):
 * encryption, multi-disk archives, other compression methods. CRCs are not verified: checking
 * them would mean reading every byte of a multi-GB file even when only a few entries are used.
 */
import { inflateSync } from 'fflate';
import { type ByteSource, checkRange } from './byte-source.ts';
import { WeightsError } from './errors.ts';

export interface ZipEntry {
  readonly name: string;
  /** 0 = stored, 8 = deflate. */
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localHeaderOffset: number;
}

export interface ZipArchive {
  readonly source: ByteSource;
  readonly entries: ReadonlyMap<string, ZipEntry>;
}

const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;
const utf8 = new TextDecoder('utf-8');

/** True when the bytes begin like a zip archive (local file header signature "PK\3\4"). */
export function looksLikeZip(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
}

export function openZip(source: ByteSource): ZipArchive {
  const { cdOffset, cdSize, count } = readEndOfCentralDirectory(source);
  const cd = view(source.read(cdOffset, cdSize));
  const entries = new Map<string, ZipEntry>();
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.byteLength || cd.getUint32(p, true) !== SIG_CENTRAL) {
      throw new WeightsError('corrupt', `zip central directory is damaged at entry ${i} of ${count}`);
    }
    const flags = cd.getUint16(p + 8, true);
    const method = cd.getUint16(p + 10, true);
    let compressedSize = cd.getUint32(p + 20, true);
    let size = cd.getUint32(p + 24, true);
    const nameLen = cd.getUint16(p + 28, true);
    const extraLen = cd.getUint16(p + 30, true);
    const commentLen = cd.getUint16(p + 32, true);
    let localHeaderOffset = cd.getUint32(p + 42, true);
    if (p + 46 + nameLen + extraLen + commentLen > cd.byteLength) {
      throw new WeightsError('corrupt', `zip central directory is damaged at entry ${i} of ${count}`);
    }
    const name = utf8.decode(new Uint8Array(cd.buffer, cd.byteOffset + p + 46, nameLen));
    // Zip64 extended info (tag 1) holds, in this order, only the fields that overflowed.
    const extra = p + 46 + nameLen;
    for (let q = extra; q + 4 <= extra + extraLen; ) {
      const tag = cd.getUint16(q, true);
      const len = cd.getUint16(q + 2, true);
      if (tag === 0x0001) {
        let r = q + 4;
        const next = (): number => {
          if (r + 8 > q + 4 + len) throw new WeightsError('corrupt', `zip64 extra field of "${name}" is too short`);
          r += 8;
          return getUint64(cd, r - 8);
        };
        if (size === 0xffffffff) size = next();
        if (compressedSize === 0xffffffff) compressedSize = next();
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = next();
      }
      q += 4 + len;
    }
    if (flags & 1) throw new WeightsError('unsupported', `zip entry "${name}" is encrypted`);
    entries.set(name, { name, method, compressedSize, size, localHeaderOffset });
    p = extra + extraLen + commentLen;
  }
  return { source, entries };
}

/**
 * Reads `length` bytes at `start` within an entry's uncompressed data. For stored entries only
 * that range is read; deflated entries are inflated whole (they never occur in torch.save output).
 */
export function readZipEntry(zip: ZipArchive, entry: ZipEntry, start = 0, length = entry.size - start): Uint8Array {
  if (start < 0 || length < 0 || start + length > entry.size) {
    throw new WeightsError(
      'corrupt',
      `zip entry "${entry.name}" has ${entry.size} bytes; bytes ${start}..${start + length} were requested`,
      { entry: entry.name, size: entry.size, start, length },
    );
  }
  const dataOffset = entryDataOffset(zip.source, entry);
  if (entry.method === 0) {
    if (entry.compressedSize !== entry.size) {
      throw new WeightsError('corrupt', `stored zip entry "${entry.name}" has mismatched sizes`);
    }
    return zip.source.read(dataOffset + start, length);
  }
  if (entry.method === 8) {
    const packed = zip.source.read(dataOffset, entry.compressedSize);
    const out = inflateSync(packed, { out: new Uint8Array(entry.size) });
    return out.subarray(start, start + length);
  }
  throw new WeightsError('unsupported', `zip entry "${entry.name}" uses compression method ${entry.method}`, {
    method: entry.method,
  });
}

function entryDataOffset(source: ByteSource, entry: ZipEntry): number {
  const local = view(source.read(entry.localHeaderOffset, 30));
  if (local.getUint32(0, true) !== SIG_LOCAL) {
    throw new WeightsError('corrupt', `zip local header for "${entry.name}" is missing or damaged`);
  }
  // The local extra field differs from the central one (torch pads it to align data).
  const offset = entry.localHeaderOffset + 30 + local.getUint16(26, true) + local.getUint16(28, true);
  checkRange(source.byteLength, offset, entry.compressedSize);
  return offset;
}

function readEndOfCentralDirectory(source: ByteSource): { cdOffset: number; cdSize: number; count: number } {
  const tailLength = Math.min(source.byteLength, EOCD_SIZE + MAX_COMMENT);
  const tailStart = source.byteLength - tailLength;
  const tail = view(source.read(tailStart, tailLength));
  let eocd = -1;
  for (let p = tailLength - EOCD_SIZE; p >= 0; p--) {
    if (tail.getUint32(p, true) === SIG_EOCD) {
      eocd = p;
      break;
    }
  }
  if (eocd < 0) {
    throw new WeightsError(
      'bad-format',
      'no zip end-of-central-directory record found: the file is not a zip archive or it is truncated',
      { byteLength: source.byteLength },
    );
  }
  if (tail.getUint16(eocd + 4, true) !== 0 || tail.getUint16(eocd + 6, true) !== 0) {
    throw new WeightsError('unsupported', 'multi-disk (split) zip archives are not supported');
  }
  let count = tail.getUint16(eocd + 10, true);
  let cdSize = tail.getUint32(eocd + 12, true);
  let cdOffset = tail.getUint32(eocd + 16, true);
  const locator = eocd - 20;
  if (locator >= 0 && tail.getUint32(locator, true) === SIG_ZIP64_LOCATOR) {
    const z64 = view(source.read(getUint64(tail, locator + 8), 56));
    if (z64.getUint32(0, true) !== SIG_ZIP64_EOCD) {
      throw new WeightsError('corrupt', 'zip64 end-of-central-directory record is missing or damaged');
    }
    count = getUint64(z64, 32);
    cdSize = getUint64(z64, 40);
    cdOffset = getUint64(z64, 48);
  }
  if (cdOffset + cdSize > source.byteLength) {
    throw new WeightsError(
      'truncated',
      `zip central directory (bytes ${cdOffset}..${cdOffset + cdSize}) lies beyond the end of the file (${source.byteLength} bytes)`,
    );
  }
  return { cdOffset, cdSize, count };
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function getUint64(dv: DataView, offset: number): number {
  const value = dv.getUint32(offset, true) + dv.getUint32(offset + 4, true) * 2 ** 32;
  if (!Number.isSafeInteger(value)) throw new WeightsError('corrupt', 'zip64 field exceeds 2^53');
  return value;
}
