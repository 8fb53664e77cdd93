/**
 * The page at `/`: a minimal form over POST /v1/images/generations. A seam for the real demo page
 * (web component, API keys) to replace: the app only calls `demoPage()`.
 */
export function demoPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Aurora Edge</title>
<style>
  body { font: 16px/1.4 system-ui, sans-serif; max-width: 44rem; margin: 2rem auto; padding: 0 1rem; }
  form { display: flex; gap: .5rem; flex-wrap: wrap; }
  input[name=prompt] { flex: 1 1 20rem; padding: .4rem; }
  #out img { width: 128px; height: 128px; image-rendering: pixelated; margin: 4px; border: 1px solid #ccc; }
  #status { color: #555; min-height: 1.4em; }
</style>
</head>
<body>
<h1>Aurora Edge</h1>
<p>Text to 64x64 image in one forward pass. <a href="/docs">API docs</a> · <a href="/openapi.json">OpenAPI</a> · <a href="/v1/models">models</a></p>
<form id="f">
  <input name="prompt" value="a red apple on a wooden table" maxlength="1000" required aria-label="prompt">
  <label>n <input name="n" type="number" min="1" max="16" value="4" style="width:4em"></label>
  <label>seed <input name="seed" type="number" min="0" placeholder="random" style="width:8em"></label>
  <button>Generate</button>
</form>
<p id="status"></p>
<div id="out"></div>
<script type="module">
const f = document.getElementById('f');
const status = document.getElementById('status');
const out = document.getElementById('out');
f.addEventListener('submit', async (e) => {
  e.preventDefault();
  const d = new FormData(f);
  const body = { prompt: d.get('prompt'), n: Number(d.get('n')) };
  if (d.get('seed') !== '') body.seed = Number(d.get('seed'));
  status.textContent = 'generating...';
  const t = performance.now();
  const res = await fetch('/v1/images/generations', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = await res.json();
  if (!res.ok) { status.textContent = json.error.message; return; }
  status.textContent = 'route ' + res.headers.get('x-aurora-route') + ', seed ' + json.seed + ', ' + Math.round(performance.now() - t) + ' ms';
  out.replaceChildren(...json.data.map((img) => Object.assign(document.createElement('img'), { src: img.url, title: 'seed ' + img.seed + (img.cached ? ' (cached)' : ''), alt: 'seed ' + img.seed })));
});
</script>
</body>
</html>
`;
}
