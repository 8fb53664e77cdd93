/**
 * Writes a zip file in the layout PyTorch's writer (miniz) gives checkpoints over 4 GiB, with
 * large entries left as holes so a multi-GB file costs next to no disk or time:
 *
 * - local headers with flags 0x0808 (data descriptor, UTF-8) and sizes 0, a zip64 extra field
 *   for entries that start past 4 GiB, then torch's "FB" padding field to 64-byte align the data;
 * - a data descriptor after each entry;
 * - central directory entries with 32-bit sizes unless they overflow, and a zip64 extra holding
 *   only the overflowed fields (size, compressed size, local header offset, in that order);
 * - zip64 end record and locator, then an end record whose central directory offset is 0xffffffff.
 *
 * This is what /usr/bin/python3 torch 1.13 wrote for a 4.7 GB paper-config checkpoint (checked
 * byte by byte). CRCs are 0: the reader does not check them.
 */
import * as fs from 'node:fs';

export type SparseEntry = { readonly name: string; readonly data: Uint8Array } | { readonly name: string; readonly holeBytes: number };

const U32 = 0xffffffff;

export function writeSparseZip64(file: string, entries: readonly SparseEntry[]): number {
  const fd = fs.openSync(file, 'w');
  let offset = 0;
  const write = (bytes: Uint8Array) => {
    for (let done = 0; done < bytes.byteLength; ) done += fs.writeSync(fd, bytes, done, bytes.byteLength - done, offset + done);
    offset += bytes.byteLength;
  };
  const central: Uint8Array[] = [];
  try {
    for (const entry of entries) {
      const name = new TextEncoder().encode(entry.name);
      const size = 'data' in entry ? entry.data.byteLength : entry.holeBytes;
      const headerOffset = offset;
      const zip64Local = headerOffset >= U32 ? 12 : 0;
      const base = 30 + name.length + zip64Local + 4;
      const pad = (64 - (base % 64)) % 64;
      const local = new Uint8Array(base + pad);
      const lv = new DataView(local.buffer);
      lv.setUint32(0, 0x04034b50, true);
      lv.setUint16(6, 0x0808, true);
      lv.setUint16(26, name.length, true);
      lv.setUint16(28, zip64Local + 4 + pad, true);
      local.set(name, 30);
      let x = 30 + name.length;
      if (zip64Local) {
        lv.setUint16(x, 1, true);
        lv.setUint16(x + 2, 8, true);
        lv.setBigUint64(x + 4, BigInt(headerOffset), true);
        x += 12;
      }
      lv.setUint16(x, 0x4246, true); // "FB"
      lv.setUint16(x + 2, pad, true);
      local.fill(0x5a, x + 4);
      write(local);
      if ('data' in entry) write(entry.data);
      else offset += entry.holeBytes;
      const descriptor = new Uint8Array(16);
      const dv = new DataView(descriptor.buffer);
      dv.setUint32(0, 0x08074b50, true);
      dv.setUint32(8, Math.min(size, U32), true);
      dv.setUint32(12, Math.min(size, U32), true);
      write(descriptor);

      const overflow: number[] = [];
      if (size >= U32) overflow.push(size, size);
      if (headerOffset >= U32) overflow.push(headerOffset);
      const extraLen = overflow.length ? 4 + 8 * overflow.length : 0;
      const c = new Uint8Array(46 + name.length + extraLen);
      const cv = new DataView(c.buffer);
      cv.setUint32(0, 0x02014b50, true);
      cv.setUint16(6, 45, true);
      cv.setUint16(8, 0x0808, true);
      cv.setUint32(20, Math.min(size, U32), true);
      cv.setUint32(24, Math.min(size, U32), true);
      cv.setUint16(28, name.length, true);
      cv.setUint16(30, extraLen, true);
      cv.setUint32(42, Math.min(headerOffset, U32), true);
      c.set(name, 46);
      if (extraLen) {
        cv.setUint16(46 + name.length, 1, true);
        cv.setUint16(48 + name.length, 8 * overflow.length, true);
        overflow.forEach((v, i) => cv.setBigUint64(50 + name.length + 8 * i, BigInt(v), true));
      }
      central.push(c);
    }
    const cdOffset = offset;
    for (const c of central) write(c);
    const cdSize = offset - cdOffset;
    const tail = new Uint8Array(56 + 20 + 22);
    const tv = new DataView(tail.buffer);
    tv.setUint32(0, 0x06064b50, true);
    tv.setBigUint64(4, 44n, true);
    tv.setUint16(12, 45, true);
    tv.setUint16(14, 45, true);
    tv.setBigUint64(24, BigInt(entries.length), true);
    tv.setBigUint64(32, BigInt(entries.length), true);
    tv.setBigUint64(40, BigInt(cdSize), true);
    tv.setBigUint64(48, BigInt(cdOffset), true);
    tv.setUint32(56, 0x07064b50, true);
    tv.setBigUint64(64, BigInt(offset), true);
    tv.setUint32(72, 1, true);
    tv.setUint32(76, 0x06054b50, true);
    tv.setUint16(86, entries.length, true);
    tv.setUint16(88, entries.length, true);
    tv.setUint32(90, Math.min(cdSize, U32), true);
    tv.setUint32(94, Math.min(cdOffset, U32), true);
    write(tail);
    return offset;
  } finally {
    fs.closeSync(fd);
  }
}
