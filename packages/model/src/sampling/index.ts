export {
  PHILOX_ROUNDS,
  mulhi32,
  mullo32,
  philox4x32_10,
  philox4x32_10Into,
  type PhiloxCounter,
  type PhiloxKey,
} from './philox.ts';
export { LN2_HI, LN2_LO, detCosSinTurns, detLog } from './detmath.ts';
export { boxMuller, boxMullerInto, uniformFromUint32 } from './normal.ts';
export {
  AURORA_STREAM_KEY,
  CENTER_STREAM_KEY,
  MAX_LATENT_DIM,
  MAX_SEED,
  requestSeeds,
  sampleCenterLatents,
  sampleLatent,
  sampleLatents,
} from './latent.ts';
