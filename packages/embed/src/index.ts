/**
 * @aurora-edge/embed: `<aurora-image>`, a framework-free custom element for Aurora images. The
 * gateway serves it built (buildEmbed, from '@aurora-edge/embed/build') at /embed.js; bundlers may
 * import it from here and call defineAuroraImage().
 */
export { AuroraImageElement, defineAuroraImage } from './element.ts';
export { AttributeError, EmbedError } from './errors.ts';
export type { AuroraErrorDetail, AuroraEventMap, AuroraFrame, AuroraLoadDetail, AuroraStartDetail, BackendPreference, LocalBackend, Mode } from './events.ts';
export { localUnsupportedReason } from './local-mode.ts';
export type { Centre, ImageOptions, InterpolateCodes, InterpolationOptions } from './options.ts';
