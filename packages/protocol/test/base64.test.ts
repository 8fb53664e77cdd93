import { describe, expect, it } from 'vitest';
import { base64ToBytes, bytesToBase64 } from '../src/base64.ts';

describe('base64', () => {
  it('matches Buffer both ways, past one 32 KiB slice', () => {
    const bytes = Uint8Array.from({ length: 0x8000 * 2 + 7 }, (_, i) => (i * 131) & 0xff);
    const text = bytesToBase64(bytes);
    expect(text).toBe(Buffer.from(bytes).toString('base64'));
    expect(base64ToBytes(text)).toEqual(bytes);
    expect(bytesToBase64(new Uint8Array(0))).toBe('');
  });
});
