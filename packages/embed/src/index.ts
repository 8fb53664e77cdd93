/**
 * @aurora-edge/embed: `<aurora-image>`, a framework-free custom element for Aurora images. The
 * gateway serves it built (buildEmbed, from '@aurora-edge/embed/build') at /embed.js; bundlers may
 * import it from here and call defineAuroraImage().
 */
export { AuroraImageElement, defineAuroraImage } from './element.ts';
export { AttributeError, EmbedError } from './errors.ts';
export type { AuroraErrorDetail, AuroraEventMap, AuroraLoadDetail, AuroraStartDetail, BackendPreference, LocalBackend, Mode } from './events.ts';
export type { ImageOptions } from './options.ts';
export { localUnsupportedReason } from './local-mode.ts';
