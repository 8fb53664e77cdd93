export { type NCHWShape, toUint8Image, toUint8Value } from './postprocess.ts';
export {
  type DecodedPng,
  type EncodePngOptions,
  type PngChannels,
  type PngFilter,
  PNG_FILTER,
  decodePng,
  encodePng,
} from './png.ts';
export { type GridImage, makeGrid } from './grid.ts';
export { crc32 } from './crc32.ts';
export { type DecodedApng, type EncodeApngOptions, decodeApngFrames, encodeApng } from './apng.ts';
