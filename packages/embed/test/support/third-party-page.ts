import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ThirdPartySite {
  readonly url: string;
  readonly origin: string;
  /** The page served at `/` (set once the gateway's URL is known). */
  html: string;
  close(): Promise<void>;
}

/**
 * A "third-party" site on its own origin (its own port) that embeds <aurora-image> from the
 * gateway the way a customer would: one module script tag, then the elements.
 */
export async function startThirdPartySite(options: { crossOriginIsolated?: boolean } = {}): Promise<ThirdPartySite> {
  const site = { html: '' } as ThirdPartySite;
  // COOP + COEP make the page cross-origin isolated: SharedArrayBuffer, so onnxruntime-web may use threads.
  const isolation = options.crossOriginIsolated ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } : {};
  const server = http.createServer((req, res) => {
    if (req.url !== '/') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', ...isolation });
    res.end(site.html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(site, { url: `${origin}/`, origin, close: () => new Promise<void>((resolve) => server.close(() => resolve())) });
}

/** Records every aurora-* event (local pixels as a plain array; `t`: ms since the page started) in window.__events, before the element loads. */
export function embedPage(title: string, api: string, elements: string): string {
  return `<!doctype html>
<html lang="en"><meta charset="utf-8"><title>${title}</title>
<style>body { font: 14px sans-serif; margin: 16px; } aurora-image { width: 192px; margin: 4px; }</style>
<script>
  window.__events = [];
  window.__errors = [];
  window.addEventListener('error', (e) => window.__errors.push(String(e.message)));
  window.addEventListener('unhandledrejection', (e) => window.__errors.push(String(e.reason)));
  for (const type of ['aurora-start', 'aurora-load', 'aurora-error']) {
    document.addEventListener(type, (e) => {
      const d = { ...e.detail };
      if (d.pixels) d.pixels = Array.from(d.pixels);
      window.__events.push({ type, id: e.target.id, detail: d, t: Math.round(performance.now()) });
    });
  }
</script>
<script type="module" src="${api}/embed.js"></script>
<h1>${title}</h1>
${elements}
</html>`;
}
