/**
 * GET /docs: the OpenAPI document rendered as one self-contained page (inline CSS, no script, no
 * CDN): every operation with its parameters, body and responses, then every schema.
 */
// biome-ignore lint/suspicious/noExplicitAny: an OpenAPI document is walked as plain JSON.
type Json = any;

const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
const refName = (ref: string) => ref.replace('#/components/schemas/', '');

/** A schema as a short type label: `string`, `integer | null`, `GeneratedImage[]` (linked), `"use" | "refresh"`. */
function typeLabel(s: Json): string {
  if (!s || typeof s !== 'object') return 'any';
  if (s.$ref) return `<a href="#schema-${esc(refName(s.$ref))}">${esc(refName(s.$ref))}</a>`;
  if (s.enum) return s.enum.map((v: unknown) => `<code>${esc(JSON.stringify(v))}</code>`).join(' | ');
  for (const k of ['anyOf', 'oneOf', 'allOf']) if (Array.isArray(s[k])) return s[k].map(typeLabel).join(k === 'allOf' ? ' &amp; ' : ' | ');
  const types = Array.isArray(s.type) ? s.type : [s.type ?? (s.properties ? 'object' : 'any')];
  return types.map((t: string) => (t === 'array' ? `${typeLabel(s.items)}[]` : esc(t))).join(' | ');
}

function constraints(s: Json): string {
  const parts: string[] = [];
  for (const [k, label] of [
    ['minimum', 'min'],
    ['maximum', 'max'],
    ['minLength', 'min length'],
    ['maxLength', 'max length'],
    ['pattern', 'pattern'],
    ['default', 'default'],
    ['example', 'example'],
  ]) {
    if (s?.[k] !== undefined) parts.push(`${label} <code>${esc(typeof s[k] === 'string' && k !== 'pattern' ? JSON.stringify(s[k]) : s[k])}</code>`);
  }
  return parts.join(', ');
}

/**
 * The rows of an object schema's fields. An inline object (or array of them) has its own fields
 * listed under it with dotted names (`error.code`, `data[].seed`): a reader must see what is
 * inside, not just "object" (named schemas are linked instead).
 */
function fieldRows(s: Json, prefix = '', depth = 0): string[] {
  const required = new Set<string>(s?.required ?? []);
  return Object.entries<Json>(s?.properties ?? {}).flatMap(([name, p]) => {
    const row = `<tr><td><code>${esc(prefix + name)}</code>${required.has(name) ? ' <b>*</b>' : ''}</td><td>${typeLabel(p)}</td><td>${esc(p.description)} ${constraints(p)}</td></tr>`;
    if (depth >= 4) return [row];
    if (p?.properties && !p.$ref) return [row, ...fieldRows(p, `${prefix}${name}.`, depth + 1)];
    if (p?.items?.properties && !p.items.$ref) return [row, ...fieldRows(p.items, `${prefix}${name}[].`, depth + 1)];
    return [row];
  });
}

function fields(s: Json): string {
  const rows = fieldRows(s);
  return rows.length ? `<table><tr><th>field</th><th>type</th><th>about</th></tr>${rows.join('')}</table>` : `<p>${typeLabel(s)}</p>`;
}

function bodyOf(content: Json): string {
  if (!content) return '';
  return Object.entries<Json>(content)
    .map(([type, c]) => `<code>${esc(type)}</code> ${typeLabel(c.schema)}`)
    .join('; ');
}

function operation(path: string, method: string, op: Json): string {
  const params = (op.parameters ?? []).map(
    (p: Json) =>
      `<tr><td><code>${esc(p.name)}</code>${p.required ? ' <b>*</b>' : ''}</td><td>${esc(p.in)}</td><td>${typeLabel(p.schema)}</td><td>${esc(p.description ?? p.schema?.description)} ${constraints(p.schema)}</td></tr>`,
  );
  const body = op.requestBody ? `<h4>Body</h4><p>${bodyOf(op.requestBody.content)}</p>` : '';
  const responses = Object.entries<Json>(op.responses ?? {}).map(
    ([status, r]) => `<tr><td>${esc(status)}</td><td>${esc(r.description)}</td><td>${bodyOf(r.content)}</td></tr>`,
  );
  const id = `${method}-${path}`.replace(/[^\w-]+/g, '-');
  return `<section id="${esc(id)}"><h3><span class="m ${esc(method)}">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code></h3>
<p>${esc(op.summary)}</p>${op.description ? `<p>${esc(op.description)}</p>` : ''}${op.security ? '<p class="note">API key: <code>Authorization: Bearer ak_...</code> (optional in open mode; see the description for keys mode)</p>' : ''}
${params.length ? `<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>type</th><th>about</th></tr>${params.join('')}</table>` : ''}${body}
<h4>Responses</h4><table><tr><th>status</th><th>meaning</th><th>body</th></tr>${responses.join('')}</table></section>`;
}

export function docsPage(doc: Json): string {
  const ops = Object.entries<Json>(doc.paths ?? {}).flatMap(([path, item]) =>
    Object.entries<Json>(item)
      .filter(([method]) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
      .map(([method, op]) => operation(path, method, op)),
  );
  const schemas = Object.entries<Json>(doc.components?.schemas ?? {}).map(
    ([name, s]) => `<section id="schema-${esc(name)}"><h3>${esc(name)}</h3>${s.description ? `<p>${esc(s.description)}</p>` : ''}${fields(s)}</section>`,
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(doc.info?.title)} API</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  section { border-top: 1px solid #ddd; padding: .5rem 0; }
  table { border-collapse: collapse; width: 100%; margin: .3rem 0 .8rem; font-size: 14px; }
  th, td { text-align: left; vertical-align: top; padding: .25rem .5rem; border-bottom: 1px solid #eee; }
  code { font: 13px ui-monospace, monospace; background: #f4f4f4; padding: 0 .2rem; }
  .m { display: inline-block; min-width: 3.5rem; text-align: center; color: #fff; border-radius: 3px; font-size: 13px; padding: .1rem .3rem; }
  .get { background: #2a6ebb; } .post { background: #2b8a3e; } .note { color: #555; }
</style></head>
<body>
<h1>${esc(doc.info?.title)} <small>${esc(doc.info?.version)}</small></h1>
<p>${esc(doc.info?.description)}</p>
<p>The machine-readable document: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${esc(doc.openapi)}) · <a href="/">demo</a></p>
<h2>Operations</h2>
${ops.join('\n')}
<h2>Schemas</h2>
${schemas.join('\n')}
</body></html>`;
}
