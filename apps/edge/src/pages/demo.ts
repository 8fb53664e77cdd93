/**
 * The page at `/`, the same on Node and Workers: a form over the public API (prompt, seed, psi,
 * n, an optional API key), the images with their route and cached flags, the recent cache entries
 * (GET /v1/gallery) and a copy-paste <aurora-image> snippet for the current settings. One
 * self-contained document: no framework, nothing loaded from anywhere but this gateway.
 */
/** What the page says about the models, from their manifests (rendered by the server: keys mode needs no key for it). */
export interface DemoModel {
  readonly id: string;
  readonly trained: boolean;
  readonly description: string;
}

const html = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * A note on the default model, driven by its manifest's `trained` flag: a person must know that an
 * untrained model's pictures are noise-like patterns, not a bad rendering of their prompt.
 */
function modelNote(models: readonly DemoModel[]): string {
  const m = models[0];
  if (!m) return '';
  if (!m.trained) {
    return `<p id="model-note" class="note warn">The model <code>${html(m.id)}</code> is <b>untrained</b> (random weights, its manifest says <code>trained: false</code>): the images are patterns that depend on the prompt, seed and ψ, not pictures of the prompt. This page shows the serving pipeline, not the model's quality.</p>`;
  }
  return `<p id="model-note" class="note">Model <code>${html(m.id)}</code>: ${html(m.description)}</p>`;
}

export function demoPage(models: readonly DemoModel[] = []): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Aurora Edge</title>
<link rel="icon" href="/favicon.ico">
<style>
  body { font: 16px/1.45 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  form { display: grid; grid-template-columns: 7rem 1fr; gap: .5rem .75rem; align-items: center; }
  form input[type=text], form input[type=password] { padding: .35rem; }
  form .row { display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; }
  button { padding: .4rem 1rem; cursor: pointer; }
  .hint { color: #666; font-size: 13px; }
  #status { min-height: 1.5em; color: #444; }
  #status.error { color: #b00020; }
  .grid { display: flex; flex-wrap: wrap; gap: 8px; }
  figure { margin: 0; width: 136px; font-size: 12px; color: #555; }
  figure img { width: 128px; height: 128px; image-rendering: pixelated; border: 1px solid #ccc; display: block; background: #f4f4f4; }
  figure figcaption { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  /* A result's caption is its facts (seed, route, cached): one per line, never cut off. */
  #results figure figcaption { white-space: normal; overflow: visible; overflow-wrap: anywhere; }
  #results figure figcaption span { display: block; }
  .note { background: #f4f6fb; border-left: 3px solid #8aa4d6; padding: .4rem .6rem; }
  .note.warn { background: #fff8e1; border-left-color: #e0a800; }
  #gallery figure { cursor: pointer; }
  figure aurora-image { width: 128px; border: 1px solid #ccc; }
  figure aurora-image::part(image) { image-rendering: pixelated; }
  pre { background: #f6f6f6; padding: .75rem; overflow-x: auto; font-size: 13px; white-space: pre-wrap; word-break: break-all; }
</style>
</head>
<body>
<h1>Aurora Edge</h1>
<p>Text to a 64x64 image in one forward pass of the Aurora GAN. <a href="/docs">API docs</a> · <a href="/openapi.json">OpenAPI</a></p>
${modelNote(models)}
<form id="f">
  <label for="prompt">Prompt</label>
  <input id="prompt" name="prompt" type="text" value="a red apple on a wooden table" maxlength="1000" required>
  <label for="seed">Seed</label>
  <div class="row"><input id="seed" name="seed" type="number" min="0" max="4294967295" placeholder="random" style="width:9em">
    <label for="n">n</label> <input id="n" name="n" type="number" min="1" max="16" value="4" style="width:4em"></div>
  <label for="psi">Truncation ψ</label>
  <div class="row"><input id="psi" name="psi" type="range" min="0" max="1" step="0.05" value="0.7"> <output id="psi-value" for="psi">0.7</output>
    <span class="hint">lower: closer to the prompt's typical image; 1: no truncation</span></div>
  <label for="where">Run on</label>
  <div class="row"><select id="where" name="where"><option value="server">the server</option><option value="local">this browser (WebGPU, else WASM)</option><option value="local-wasm">this browser, WASM only</option></select>
    <span class="hint">the model runs in this page, as &lt;aurora-image mode="local"&gt; does</span></div>
  <label for="key">API key</label>
  <div class="row"><input id="key" name="key" type="password" placeholder="ak_... (optional)" autocomplete="off" style="flex:1">
    <span class="hint">needed when the gateway runs with AUTH_MODE=keys; kept in this browser only</span></div>
  <span></span><div><button id="generate" type="submit">Generate</button></div>
</form>
<p id="status" role="status"></p>
<div id="results" class="grid"></div>

<h2>Embed it</h2>
<p class="hint">One script tag and the element, on any page whose origin the key allows (<code>mode="local"</code> generates in the visitor's browser).</p>
<pre id="snippet"></pre>
<button id="copy" type="button">Copy</button> <span id="copied" class="hint"></span>

<h2>Recent</h2>
<div id="gallery" class="grid"><span class="hint">loading…</span></div>

<script type="module">
const $ = (id) => document.getElementById(id);
const form = $('f');
const status = $('status');
const stored = localStorage.getItem('aurora-key');
if (stored) $('key').value = stored;
let lastSeed = null;

const headers = (json) => {
  const h = json ? { 'content-type': 'application/json' } : {};
  const key = $('key').value.trim();
  if (key) h.authorization = 'Bearer ' + key;
  return h;
};
const say = (text, error = false) => { status.textContent = text; status.className = error ? 'error' : ''; };
const describe = async (res) => {
  let e = { code: 'http_' + res.status, message: res.statusText };
  try { e = (await res.json()).error ?? e; } catch {}
  const retry = res.headers.get('retry-after');
  return res.status + ' · ' + e.code + ': ' + e.message + (retry ? ' (try again in ' + retry + ' s)' : '');
};
// caption: a string, or lines (one block each).
const figure = (src, caption, title) => {
  const fig = document.createElement('figure');
  const img = Object.assign(document.createElement('img'), { src, alt: title, title, width: 128, height: 128 });
  const cap = document.createElement('figcaption');
  if (Array.isArray(caption)) cap.append(...caption.map((line) => Object.assign(document.createElement('span'), { textContent: line })));
  else cap.textContent = caption;
  fig.append(img, cap);
  return fig;
};
// An error replaces what the last request showed: old images under a new error read as its result.
const fail = (text) => { $('results').replaceChildren(); say(text, true); };
const attr = (s) => String(s).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

function snippet() {
  const seed = $('seed').value !== '' ? $('seed').value : lastSeed;
  const key = $('key').value.trim();
  const attrs = ['prompt="' + attr($('prompt').value) + '"'];
  if (seed !== null && seed !== '') attrs.push('seed="' + seed + '"');
  attrs.push('psi="' + $('psi').value + '"');
  if (key) attrs.push('key="' + attr(key) + '"');
  if ($('where').value !== 'server') attrs.push('mode="local"');
  if ($('where').value === 'local-wasm') attrs.push('backend="wasm"');
  $('snippet').textContent = '<script type="module" src="' + location.origin + '/embed.js"></' + 'script>\\n<aurora-image ' + attrs.join(' ') + '></aurora-image>';
}

const galleryNote = (text) => $('gallery').replaceChildren(Object.assign(document.createElement('span'), { className: 'hint', textContent: text }));
async function gallery() {
  let res;
  try { res = await fetch('/v1/gallery?limit=12', { headers: headers(false) }); }
  catch (error) { return galleryNote('could not load recent images: ' + error.message); }
  if (res.status === 401) return galleryNote('Recent images need an API key on this gateway (AUTH_MODE=keys): enter one above. ' + await describe(res));
  if (!res.ok) return galleryNote('Recent images are not available: ' + await describe(res));
  const { data } = await res.json();
  if (data.length === 0) return galleryNote('nothing cached yet');
  $('gallery').replaceChildren(...data.map((item) => {
    const fig = figure(item.url, item.prompt, item.prompt + ' (seed ' + item.seed + ', ψ ' + item.truncation_psi + ')');
    fig.addEventListener('click', () => {
      $('prompt').value = item.prompt;
      $('seed').value = item.seed;
      $('psi').value = item.truncation_psi;
      $('psi-value').textContent = item.truncation_psi;
      snippet();
    });
    return fig;
  }));
}

// "Run on: this browser": <aurora-image mode="local"> elements (embed.js, loaded on first use)
// make the images in this page, on WebGPU where it gets an adapter, else WASM SIMD; their
// aurora-load event says which, and why not WebGPU.
async function generateHere(body, backend) {
  await import('/embed.js');
  const started = performance.now();
  const key = $('key').value.trim();
  const loads = [];
  const figures = Array.from({ length: body.n }, (_, i) => {
    const el = document.createElement('aurora-image');
    const attrs = { mode: 'local', prompt: body.prompt, psi: String(body.truncation_psi) };
    if (body.seed !== undefined) attrs.seed = String((body.seed + i) % 4294967296);
    if (backend) attrs.backend = backend;
    if (key) attrs.key = key;
    for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
    const fig = document.createElement('figure');
    const cap = document.createElement('figcaption');
    cap.textContent = 'generating…';
    fig.append(el, cap);
    loads.push(new Promise((resolve) => {
      el.addEventListener('aurora-load', (e) => {
        const d = e.detail;
        cap.textContent = 'seed ' + d.seed + ' · ' + (d.local ? d.backend : d.route);
        resolve(d);
      }, { once: true });
      el.addEventListener('aurora-error', (e) => { cap.textContent = e.detail.code; resolve({ error: e.detail }); }, { once: true });
    }));
    return fig;
  });
  $('results').replaceChildren(...figures);
  const done = await Promise.all(loads);
  const d = done[0];
  if (d.error) return fail((d.error.status ? d.error.status + ' · ' : '') + d.error.code + ': ' + d.error.message);
  lastSeed = d.seed;
  const where = d.local
    ? 'in this browser · ' + d.backend + (d.adapter ? ' (' + d.adapter + ')' : '') + (d.backendFallback ? ' (no WebGPU: ' + d.backendFallback + ')' : '')
    : 'route ' + d.route + ' (local mode unavailable: ' + d.fallback + ')';
  say(where + ' · seed ' + d.seed + ' · ψ ' + body.truncation_psi + ' · ' + Math.round(performance.now() - started) + ' ms');
  snippet();
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const key = $('key').value.trim();
  if (key) localStorage.setItem('aurora-key', key); else localStorage.removeItem('aurora-key');
  const body = { prompt: $('prompt').value, n: Number($('n').value || 1), truncation_psi: Number($('psi').value) };
  if ($('seed').value !== '') body.seed = Number($('seed').value);
  if ($('where').value !== 'server') {
    say('generating in this browser…');
    $('generate').disabled = true;
    try { return await generateHere(body, $('where').value === 'local-wasm' ? 'wasm' : undefined); }
    catch (error) { return fail('could not load the embed script: ' + error.message); }
    finally { $('generate').disabled = false; }
  }
  say('generating…');
  $('generate').disabled = true;
  const started = performance.now();
  try {
    const res = await fetch('/v1/images/generations', { method: 'POST', headers: headers(true), body: JSON.stringify(body) });
    if (!res.ok) return fail(await describe(res));
    const json = await res.json();
    lastSeed = json.seed;
    const left = res.headers.get('ratelimit-remaining');
    say('route ' + res.headers.get('x-aurora-route') + ' · seed ' + json.seed + ' · ψ ' + json.truncation_psi + ' · ' + Math.round(performance.now() - started) + ' ms' +
      (left !== null ? ' · ' + left + ' generations left this minute' : ''));
    $('results').replaceChildren(...json.data.map((img) =>
      figure(img.url, ['seed ' + img.seed + ' · ', img.route + ' · ' + (img.cached ? 'cached' : 'new')], body.prompt + ' (seed ' + img.seed + ')')));
    snippet();
    gallery();
  } catch (error) {
    fail('network error: ' + error.message);
  } finally {
    $('generate').disabled = false;
  }
});
$('psi').addEventListener('input', () => { $('psi-value').textContent = $('psi').value; snippet(); });
for (const id of ['prompt', 'seed', 'key', 'where']) $(id).addEventListener('input', snippet);
$('key').addEventListener('change', gallery);
$('copy').addEventListener('click', async () => {
  try { await navigator.clipboard.writeText($('snippet').textContent); $('copied').textContent = 'copied'; }
  catch { getSelection().selectAllChildren($('snippet')); $('copied').textContent = 'selected: press Ctrl+C'; }
});
fetch('/v1/models', { headers: headers(false) }).then((r) => r.ok ? r.json() : null).then((m) => {
  const psi = m?.data?.[0]?.default_psi;
  if (typeof psi === 'number' && !form.dataset.touched) { $('psi').value = psi; $('psi-value').textContent = psi; snippet(); }
}).catch(() => {});
form.addEventListener('input', () => { form.dataset.touched = '1'; }, { once: true });
snippet();
gallery();
</script>
</body>
</html>
`;
}
