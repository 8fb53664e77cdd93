/**
 * Captioned image cells for `aurora world sample`: the image scaled up, with its caption in a 3x5
 * pixel font underneath, so a grid PNG shows what the trainer sees without any font library.
 */

/** 3x5 glyphs of a-z, each row 3 bits (4 = left pixel); everything else draws blank. */
const GLYPHS: Record<string, readonly number[]> = {
  a: [2, 5, 7, 5, 5],
  b: [6, 5, 6, 5, 6],
  c: [3, 4, 4, 4, 3],
  d: [6, 5, 5, 5, 6],
  e: [7, 4, 6, 4, 7],
  f: [7, 4, 6, 4, 4],
  g: [3, 4, 5, 5, 3],
  h: [5, 5, 7, 5, 5],
  i: [7, 2, 2, 2, 7],
  j: [1, 1, 1, 5, 2],
  k: [5, 5, 6, 5, 5],
  l: [4, 4, 4, 4, 7],
  m: [5, 7, 7, 5, 5],
  n: [6, 5, 5, 5, 5],
  o: [2, 5, 5, 5, 2],
  p: [6, 5, 6, 4, 4],
  q: [2, 5, 5, 6, 3],
  r: [6, 5, 6, 5, 5],
  s: [3, 4, 2, 1, 6],
  t: [7, 2, 2, 2, 2],
  u: [5, 5, 5, 5, 7],
  v: [5, 5, 5, 5, 2],
  w: [5, 5, 7, 7, 5],
  x: [5, 5, 2, 5, 5],
  y: [5, 5, 2, 2, 2],
  z: [7, 1, 2, 4, 7],
};

/** Words wrapped into lines of at most `width` characters. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/**
 * An RGB cell: the image scaled by `scale` (nearest), then `lines` caption lines in white on
 * black, the font scaled by `fontScale`. Every cell of one grid must use the same `lines`.
 */
export function captionedCell(
  pixels: Uint8Array,
  size: number,
  caption: string,
  { scale = 3, fontScale = 2, lines = 3 }: { scale?: number; fontScale?: number; lines?: number } = {},
): { pixels: Uint8Array; width: number; height: number } {
  const width = size * scale;
  const lineHeight = 6 * fontScale;
  const height = width + lines * lineHeight + fontScale;
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < width; y++) {
    for (let x = 0; x < width; x++) {
      const src = (Math.floor(y / scale) * size + Math.floor(x / scale)) * 3;
      out.set(pixels.subarray(src, src + 3), (y * width + x) * 3);
    }
  }
  const perLine = Math.floor((width - 2 * fontScale) / (4 * fontScale));
  wrap(caption, perLine)
    .slice(0, lines)
    .forEach((text, li) => {
      const y0 = width + fontScale + li * lineHeight;
      [...text].forEach((ch, ci) => {
        const glyph = GLYPHS[ch];
        if (!glyph) return;
        const x0 = ci * 4 * fontScale + fontScale;
        for (let gy = 0; gy < 5 * fontScale; gy++) {
          for (let gx = 0; gx < 3 * fontScale; gx++) {
            if (!((glyph[Math.floor(gy / fontScale)] >> (2 - Math.floor(gx / fontScale))) & 1)) continue;
            const k = ((y0 + gy) * width + x0 + gx) * 3;
            out[k] = out[k + 1] = out[k + 2] = 255;
          }
        }
      });
    });
  return { pixels: out, width, height };
}
