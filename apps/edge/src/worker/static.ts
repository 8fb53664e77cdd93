import type { StaticReader } from '../deps.ts';

interface Fetcher {
  fetch(input: string, init?: RequestInit): Promise<Response>;
}

/**
 * Workers' static files: the ASSETS binding (apps/edge/dist/assets, filled by
 * scripts/build-worker-assets.ts): `embed/*`, `ort/*` and each bundle at `/<id>/*`. Bodies are
 * streamed through, never buffered in the isolate.
 */
export function assetStaticFiles(assets: Fetcher | undefined): StaticReader {
  return async (path) => {
    if (!assets) return null;
    const asset = path.startsWith('bundles/') ? path.slice('bundles/'.length) : path;
    const res = await assets.fetch(`https://assets.invalid/${asset}`);
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      return null;
    }
    const size = res.headers.get('content-length');
    return { body: res.body, size: size ? Number(size) : undefined, etag: res.headers.get('etag') ?? undefined };
  };
}
