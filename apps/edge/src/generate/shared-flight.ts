import type { Route } from './service.ts';

/** A generated image as the generation service hands it to every request that asked for it. */
export interface SharedImage {
  readonly png: Uint8Array;
  readonly etag: string;
  readonly route: Route;
}

/**
 * The second layer of single flight, across processes or isolates (the first is the in-process
 * SingleFlight in service.ts, which already coalesced this process's identical requests): gets
 * every key's image, calling `produce` only for the keys nobody else is generating right now and
 * waiting for the others. `produce` returns images in its keys' order and stores them; a failure
 * it throws reaches every request waiting for those keys.
 */
export interface SharedFlight {
  share(keys: readonly string[], produce: (mine: string[]) => Promise<SharedImage[]>): Promise<Map<string, SharedImage>>;
}

/**
 * One process is the whole world (Node with its own SQLite, tests): the in-process single flight
 * is all the coalescing there is, so every key is this process's to produce.
 */
export const localFlight: SharedFlight = {
  async share(keys, produce) {
    const made = await produce([...keys]);
    return new Map(keys.map((key, i) => [key, made[i]]));
  },
};
