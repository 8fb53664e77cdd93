/**
 * The page at `/`, the same on Node and Workers: a form over the public API (prompt, seed, psi,
 * n, an optional API key), the images with their route and cached flags, the recent cache entries
 * (GET /v1/gallery) and a copy-paste <aurora-image> snippet for the current settings. An
 * Interpolate tab turns one prompt into another (POST /v1/images/interpolations): the animation,
 * the frame strip and a step slider. One self-contained document: no framework, nothing loaded
 * from anywhere but this gateway.
 */
/**
 * A model as the page shows it: the entries of GET /v1/models (api/meta.ts modelOf), rendered by the
 * server, so the selector and notes need neither a key (keys mode) nor JavaScript.
 */
export interface DemoModel {
  readonly id: string;
  readonly trained: boolean;
  readonly description: string;
  readonly default_psi?: number;
  /** What a trained model can be asked for: its words by kind and prompts to try. */
  readonly prompts?: { readonly vocabulary: Readonly<Record<string, readonly string[]>>; readonly examples: readonly string[] };
  /** The training run's measured figures, [0, 1]. */
  readonly eval?: { readonly colour_acc: number; readonly shape_acc: number; readonly heldout_acc: number };
}

const html = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const pct = (x: number) => `${Math.round(x * 100)}%`;

/**
 * A note on a model, driven by its manifest's `trained` flag: a person must know that an untrained
 * model's pictures are noise-like patterns, not a bad rendering of their prompt; for a trained one,
 * its description and measured figures say how far to trust it.
 */
function modelNote(m: DemoModel, trainedIds: readonly string[]): string {
  if (!m.trained) {
    const other = trainedIds.length ? ` A trained model is served too: choose <code>${html(trainedIds[0])}</code> above.` : '';
    return `<p id="model-note" class="note warn">The model <code>${html(m.id)}</code> is <b>untrained</b> (random weights, its manifest says <code>trained: false</code>): the images are patterns that depend on the prompt, seed and ψ, not pictures of the prompt. This page shows the serving pipeline, not the model's quality.${other}</p>`;
  }
  const measured = m.eval
    ? ` Measured: colour right ${pct(m.eval.colour_acc)}, shape right ${pct(m.eval.shape_acc)}, unseen colour-shape pairs ${pct(m.eval.heldout_acc)}.`
    : '';
  return `<p id="model-note" class="note">Model <code>${html(m.id)}</code> (trained): ${html(m.description)}${measured}</p>`;
}

/** The words a model was trained on, by kind, and its example prompts as buttons that fill the prompt. */
function modelWords(m: DemoModel): string {
  if (!m.prompts) return '';
  const kinds = Object.entries(m.prompts.vocabulary)
    .map(([kind, words]) => `<dt>${html(kind)}</dt><dd>${words.map(html).join(', ')}</dd>`)
    .join('');
  const chips = m.prompts.examples.map((p) => `<button type="button" class="chip" data-prompt="${html(p)}">${html(p)}</button>`).join(' ');
  return `<p class="hint">The words <code>${html(m.id)}</code> was trained on:</p><dl class="words">${kinds}</dl>
<div class="chips" role="group" aria-label="Example prompts for ${html(m.id)}"><span class="hint">Try:</span> ${chips}</div>`;
}

const modelAbout = (m: DemoModel, models: readonly DemoModel[]) =>
  modelNote(
    m,
    models.filter((o) => o.trained).map((o) => o.id),
  ) + modelWords(m);

/**
 * The model selector (the default first) and what the page says about the selected model: the
 * default's, rendered in place; every model's in a <template> the script swaps in on a change.
 */
function modelPicker(models: readonly DemoModel[]): string {
  if (models.length === 0) return '';
  const options = models
    .map((m, i) => {
      const label = `${m.id} (${[i === 0 ? 'default' : '', m.trained ? 'trained' : 'untrained'].filter(Boolean).join(', ')})`;
      const psi = m.default_psi === undefined ? '' : ` data-psi="${m.default_psi}"`;
      return `<option value="${html(m.id)}"${psi}>${html(label)}</option>`;
    })
    .join('');
  const templates = models.map((m) => `<template data-model="${html(m.id)}">${modelAbout(m, models)}</template>`).join('\n');
  return `<label for="model">Model</label>
  <div class="row"><select id="model" name="model">${options}</select> <span class="hint">the models of <a href="/v1/models">/v1/models</a>, sent as <code>model</code></span></div>
  <span></span><div id="model-about" aria-live="polite">${modelAbout(models[0], models)}</div>
${templates}
`;
}

export function demoPage(models: readonly DemoModel[] = []): string {
  const psi = models[0]?.default_psi ?? 0.7;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Aurora Edge</title>
<link rel="icon" href="/favicon.ico">
<style>
  body { font: 16px/1.45 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  form, .fields { display: grid; grid-template-columns: 7rem 1fr; gap: .5rem .75rem; align-items: center; }
  form input[type=text], .fields input[type=password] { padding: .35rem; }
  form .row, .fields .row { display: flex; gap: 1rem; align-items: center; flex-wrap: wrap; }
  [role=tablist] { display: flex; gap: .25rem; margin: 1.25rem 0 .75rem; border-bottom: 1px solid #ccc; }
  [role=tab] { border: 1px solid #ccc; border-bottom: none; border-radius: 6px 6px 0 0; background: #f4f4f4; margin-bottom: -1px; }
  [role=tab][aria-selected=true] { background: #fff; font-weight: 600; border-bottom: 1px solid #fff; }
  #animation { display: flex; flex-direction: column; gap: .4rem; width: min(100%, 24rem); }
  #animation img { width: 192px; height: 192px; image-rendering: pixelated; border: 1px solid #ccc; background: #f4f4f4; }
  #animation .row { display: flex; gap: .5rem; align-items: center; }
  #animation input { flex: 1; min-width: 0; }
  #animation output { min-width: 4.5em; font-variant-numeric: tabular-nums; }
  #strip { margin-top: .5rem; }
  #strip img { width: 64px; height: 64px; image-rendering: pixelated; border: 2px solid transparent; cursor: pointer; }
  #strip img[aria-current=true] { border-color: #3b6fd6; }
  button { padding: .4rem 1rem; cursor: pointer; }
  .hint { color: #666; font-size: 13px; }
  #status, #i-status { min-height: 1.5em; color: #444; }
  #status.error, #i-status.error { color: #b00020; }
  .grid { display: flex; flex-wrap: wrap; gap: 8px; }
  figure { margin: 0; width: 136px; font-size: 12px; color: #555; }
  figure img { width: 128px; height: 128px; image-rendering: pixelated; border: 1px solid #ccc; display: block; background: #f4f4f4; }
  figure figcaption { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  /* A result's caption is its facts (seed, route, cached): one per line, never cut off. */
  #results figure figcaption { white-space: normal; overflow: visible; overflow-wrap: anywhere; }
  #results figure figcaption span { display: block; }
  .note { background: #f4f6fb; border-left: 3px solid #8aa4d6; padding: .4rem .6rem; }
  .note.warn { background: #fff8e1; border-left-color: #e0a800; }
  #model-about .note { margin: 0 0 .4rem; }
  #model-about .hint { margin: .3rem 0; }
  dl.words { display: grid; grid-template-columns: max-content 1fr; gap: .1rem .6rem; margin: 0 0 .4rem; font-size: 14px; }
  dl.words dt { color: #555; }
  dl.words dd { margin: 0; }
  .chips { display: flex; flex-wrap: wrap; gap: .35rem; align-items: center; }
  button.chip { padding: .15rem .6rem; border: 1px solid #8aa4d6; border-radius: 1rem; background: #f4f6fb; font: inherit; font-size: 14px; }
  button.chip:hover, button.chip:focus-visible { background: #e3e9f6; }
  #gallery figure { cursor: pointer; }
  figure aurora-image { width: 128px; border: 1px solid #ccc; }
  figure aurora-image::part(image) { image-rendering: pixelated; }
  pre { background: #f6f6f6; padding: .75rem; overflow-x: auto; font-size: 13px; white-space: pre-wrap; word-break: break-all; }
</style>
</head>
<body>
<h1>Aurora Edge</h1>
<p>Text to a 64x64 image in one forward pass of the Aurora GAN. <a href="/docs">API docs</a> · <a href="/openapi.json">OpenAPI</a></p>
<form id="settings" class="fields">
  ${modelPicker(models)}<label for="key">API key</label>
  <div class="row"><input id="key" name="key" type="password" placeholder="ak_... (optional)" autocomplete="off" style="flex:1">
    <span class="hint">needed when the gateway runs with AUTH_MODE=keys; kept in this browser only</span></div>
</form>
<div role="tablist" aria-label="What to make">
  <button type="button" role="tab" id="tab-generate" aria-controls="panel-generate" aria-selected="true">Generate</button>
  <button type="button" role="tab" id="tab-interpolate" aria-controls="panel-interpolate" aria-selected="false" tabindex="-1">Interpolate</button>
</div>
<section id="panel-generate" role="tabpanel" aria-labelledby="tab-generate">
<form id="f">
  <label for="prompt">Prompt</label>
  <input id="prompt" name="prompt" type="text" value="a red apple on a wooden table" maxlength="1000" required>
  <label for="seed">Seed</label>
  <div class="row"><input id="seed" name="seed" type="number" min="0" max="4294967295" placeholder="random" style="width:9em">
    <label for="n">n</label> <input id="n" name="n" type="number" min="1" max="16" value="4" style="width:4em"></div>
  <label for="psi">Truncation ψ</label>
  <div class="row"><input id="psi" name="psi" type="range" min="0" max="1" step="0.05" value="${psi}"> <output id="psi-value" for="psi">${psi}</output>
    <span class="hint">lower: closer to the prompt's typical image; 1: no truncation</span></div>
  <label for="where">Run on</label>
  <div class="row"><select id="where" name="where"><option value="server">the server</option><option value="local">this browser (WebGPU, else WASM)</option><option value="local-wasm">this browser, WASM only</option></select>
    <span class="hint">the model runs in this page, as &lt;aurora-image mode="local"&gt; does</span></div>
  <span></span><div><button id="generate" type="submit">Generate</button></div>
</form>
<p id="status" role="status"></p>
<div id="results" class="grid"></div>
</section>
<section id="panel-interpolate" role="tabpanel" aria-labelledby="tab-interpolate" hidden>
<p class="hint">One prompt turning into another: one latent, the text codes blended over the frames (as the paper's run_interpolate.py).</p>
<form id="i-form">
  <label for="from">From</label><input id="from" name="from" type="text" value="a red apple" maxlength="1000" required>
  <label for="to">To</label><input id="to" name="to" type="text" value="a green pear" maxlength="1000" required>
  <label for="steps">Steps</label>
  <div class="row"><input id="steps" name="steps" type="number" min="2" max="33" value="9" required style="width:4em">
    <label for="i-seed">Seed</label> <input id="i-seed" name="seed" type="number" min="0" max="4294967295" placeholder="random" style="width:9em"></div>
  <label for="i-mode">Mode</label>
  <div class="row"><select id="i-mode" name="interpolate"><option value="local">local codes (the paper's default)</option><option value="local+global">local and global codes</option></select></div>
  <span></span><div><button id="interpolate" type="submit">Interpolate</button></div>
</form>
<p id="i-status" role="status"></p>
<div id="i-results" hidden>
  <div id="animation">
    <img alt="" width="192" height="192">
    <div class="row"><button id="play" type="button">Pause</button>
      <label for="frame">Frame</label><input id="frame" type="range" min="0" max="0" step="1" value="0"> <output id="frame-value" for="frame"></output></div>
  </div>
  <div id="strip" class="grid" role="group" aria-label="Frames"></div>
</div>
</section>

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
// The model chosen in the selector (absent when the page was built without models).
const chosenModel = () => $('model')?.value || undefined;

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
  if (interpolating()) return interpolationSnippet();
  const seed = $('seed').value !== '' ? $('seed').value : lastSeed;
  const key = $('key').value.trim();
  const attrs = ['prompt="' + attr($('prompt').value) + '"'];
  if (chosenModel()) attrs.push('model="' + attr(chosenModel()) + '"');
  if (seed !== null && seed !== '') attrs.push('seed="' + seed + '"');
  attrs.push('psi="' + $('psi').value + '"');
  if (key) attrs.push('key="' + attr(key) + '"');
  if ($('where').value !== 'server') attrs.push('mode="local"');
  if ($('where').value === 'local-wasm') attrs.push('backend="wasm"');
  showSnippet(attrs);
}
const showSnippet = (attrs) =>
  $('snippet').textContent = '<script type="module" src="' + location.origin + '/embed.js"></' + 'script>\\n<aurora-image ' + attrs.join(' ') + '></aurora-image>';

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
      if (Array.from($('model')?.options ?? []).some((o) => o.value === item.model)) { $('model').value = item.model; showModel(false); }
      // A frame or animation of an interpolation is stored as "<from> → <to> (frame i of n)": fill the Interpolate tab.
      const part = /^(.+) → (.+) \\((?:frame \\d+ of (\\d+)|animation, (\\d+) frames)\\)$/.exec(item.prompt);
      if (part) {
        selectTab($('tab-interpolate'));
        $('from').value = part[1];
        $('to').value = part[2];
        $('steps').value = part[3] ?? part[4];
        $('i-seed').value = item.seed;
        return snippet();
      }
      selectTab($('tab-generate'));
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
    if (body.model) attrs.model = body.model;
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
  if (chosenModel()) body.model = chosenModel();
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
    say('route ' + res.headers.get('x-aurora-route') + ' · model ' + json.model + ' · seed ' + json.seed + ' · ψ ' + json.truncation_psi + ' · ' + Math.round(performance.now() - started) + ' ms' +
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
// Tabs, as the ARIA tabs pattern has them: a click, or the arrow keys, Home and End in the tab list.
const tabs = Array.from(document.querySelectorAll('[role=tab]'));
const interpolating = () => $('tab-interpolate').getAttribute('aria-selected') === 'true';
function selectTab(tab, focus = false) {
  for (const t of tabs) {
    const on = t === tab;
    t.setAttribute('aria-selected', String(on));
    t.tabIndex = on ? 0 : -1;
    $(t.getAttribute('aria-controls')).hidden = !on;
  }
  if (focus) tab.focus();
  snippet();
}
for (const t of tabs) t.addEventListener('click', () => selectTab(t));
// Enter in the model or key field submits the open tab's form.
$('settings').addEventListener('submit', (event) => {
  event.preventDefault();
  (interpolating() ? $('i-form') : form).requestSubmit();
});
document.querySelector('[role=tablist]').addEventListener('keydown', (event) => {
  const i = tabs.indexOf(document.activeElement);
  const next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[event.key];
  if (i < 0 || next === undefined) return;
  event.preventDefault();
  selectTab(tabs[(next + tabs.length) % tabs.length], true);
});

// Interpolate: POST /v1/images/interpolations, then the animated PNG playing, the frames in a
// strip, and a slider that pauses the animation on one frame (Play plays it again).
let lastISeed = null;
let shown = null;
const iSay = (text, error = false) => { $('i-status').textContent = text; $('i-status').className = error ? 'error' : ''; };
const animationImg = () => $('animation').querySelector('img');
function play() {
  if (!shown) return;
  Object.assign(animationImg(), { src: shown.url, alt: shown.alt });
  $('play').textContent = 'Pause';
  $('frame-value').textContent = 'playing';
  for (const img of $('strip').children) img.removeAttribute('aria-current');
}
function showFrame(k) {
  if (!shown?.frames[k]) return;
  Object.assign(animationImg(), { src: shown.frames[k].url, alt: shown.frames[k].alt });
  $('frame').value = String(k);
  $('frame-value').textContent = (k + 1) + '/' + shown.frames.length;
  $('play').textContent = 'Play';
  Array.from($('strip').children).forEach((img, i) => img.setAttribute('aria-current', String(i === k)));
}
$('frame').addEventListener('input', () => showFrame(Number($('frame').value)));
$('play').addEventListener('click', () => ($('play').textContent === 'Pause' ? showFrame(Number($('frame').value)) : play()));
$('strip').addEventListener('click', (event) => {
  const i = Array.from($('strip').children).indexOf(event.target);
  if (i >= 0) showFrame(i);
});
function interpolationSnippet() {
  const seed = $('i-seed').value !== '' ? $('i-seed').value : lastISeed;
  const key = $('key').value.trim();
  const attrs = ['from="' + attr($('from').value) + '"', 'to="' + attr($('to').value) + '"', 'steps="' + attr($('steps').value) + '"'];
  if (chosenModel()) attrs.push('model="' + attr(chosenModel()) + '"');
  if (seed !== null && seed !== '') attrs.push('seed="' + attr(seed) + '"');
  if ($('i-mode').value !== 'local') attrs.push('interpolate="' + attr($('i-mode').value) + '"');
  if (key) attrs.push('key="' + attr(key) + '"');
  showSnippet(attrs);
}
$('i-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const key = $('key').value.trim();
  if (key) localStorage.setItem('aurora-key', key); else localStorage.removeItem('aurora-key');
  const body = { from: $('from').value, to: $('to').value, steps: Number($('steps').value), interpolate: $('i-mode').value };
  if ($('i-seed').value !== '') body.seed = Number($('i-seed').value);
  if (chosenModel()) body.model = chosenModel();
  iSay('interpolating…');
  $('interpolate').disabled = true;
  const started = performance.now();
  try {
    const res = await fetch('/v1/images/interpolations', { method: 'POST', headers: headers(true), body: JSON.stringify(body) });
    if (!res.ok) { shown = null; $('i-results').hidden = true; return iSay(await describe(res), true); }
    const json = await res.json();
    const name = json.from + ' → ' + json.to;
    shown = { url: json.animation.url, alt: name, frames: json.data.map((f) => ({ url: f.url, alt: name + ', step ' + (f.index + 1) + ' of ' + json.steps })) };
    lastISeed = json.seed;
    $('frame').max = String(json.steps - 1);
    $('frame').value = '0';
    $('strip').replaceChildren(...shown.frames.map((f) => Object.assign(document.createElement('img'), { src: f.url, alt: f.alt, title: f.alt, width: 64, height: 64 })));
    play();
    $('i-results').hidden = false;
    const route = res.headers.get('x-aurora-route');
    iSay(json.steps + ' frames · seed ' + json.seed + ' · ψ ' + json.truncation_psi + ' · ' + json.interpolate + (route ? ' · route ' + route : '') + ' · ' + Math.round(performance.now() - started) + ' ms');
    snippet();
    gallery();
  } catch (error) {
    shown = null;
    $('i-results').hidden = true;
    iSay('network error: ' + error.message, true);
  } finally {
    $('interpolate').disabled = false;
  }
});
for (const id of ['from', 'to', 'steps', 'i-seed', 'i-mode']) $(id).addEventListener('input', snippet);

let psiTouched = false;
$('psi').addEventListener('input', () => { psiTouched = true; $('psi-value').textContent = $('psi').value; snippet(); });
for (const id of ['prompt', 'seed', 'key', 'where']) $(id).addEventListener('input', snippet);
$('key').addEventListener('change', gallery);
$('copy').addEventListener('click', async () => {
  try { await navigator.clipboard.writeText($('snippet').textContent); $('copied').textContent = 'copied'; }
  catch { getSelection().selectAllChildren($('snippet')); $('copied').textContent = 'selected: press Ctrl+C'; }
});

// The selected model's note, words and example prompts: its server-rendered <template>. Its
// default ψ too, unless ψ was set by hand; and its first example replaces the page's sample
// prompt (not one typed in), so Generate asks for something the model knows.
function showModel(fillPrompt = true) {
  const option = $('model')?.selectedOptions[0];
  const about = document.querySelector('template[data-model="' + CSS.escape(chosenModel() ?? '') + '"]');
  if (!option || !about) return;
  $('model-about').replaceChildren(about.content.cloneNode(true));
  if (option.dataset.psi && !psiTouched) { $('psi').value = option.dataset.psi; $('psi-value').textContent = option.dataset.psi; }
  const example = $('model-about').querySelector('.chip');
  if (fillPrompt && example && $('prompt').value === $('prompt').defaultValue) $('prompt').value = example.dataset.prompt;
  snippet();
}
$('model')?.addEventListener('change', () => showModel());
// An example prompt fills the prompt field (Generate then asks for it).
$('model-about')?.addEventListener('click', (event) => {
  const chip = event.target.closest('button.chip');
  if (!chip) return;
  $('prompt').value = chip.dataset.prompt;
  $('prompt').focus();
  snippet();
});
// A browser that restores form fields (back, reload) may have restored another model than the default.
if ($('model') && $('model').selectedIndex > 0) showModel(false);
snippet();
gallery();
</script>
</body>
</html>
`;
}
