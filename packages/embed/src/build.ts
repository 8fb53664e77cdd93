import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type Metafile, type Plugin } from 'esbuild';

const SRC = path.dirname(fileURLToPath(import.meta.url));

export interface EmbedFile {
  /** File name inside outDir, served at `/<name>`. */
  readonly name: string;
  readonly bytes: number;
  readonly gzipBytes: number;
  readonly contentType: string;
  /** Content-hashed name: serve with `Cache-Control: public, max-age=31536000, immutable`. */
  readonly immutable: boolean;
}

export interface EmbedBuild {
  readonly outDir: string;
  /** "embed.js": the script pages load; not content-hashed, so serve it with a short max-age and an ETag. */
  readonly entry: string;
  /** The lazily imported local-mode chunk, "embed-local-<hash>.js". */
  readonly localChunk: string;
  /**
   * onnxruntime-web's builds, each a chunk the local one imports lazily, named like it
   * ("embed-local-<hash>.js", so the gateway serves them by the same rule): `wasm` (WASM SIMD only),
   * and the WebGPU provider, loaded only where the page got an adapter: `webgpuJspi` where the
   * browser has JSPI, else `webgpu` (asyncify).
   */
  readonly ortChunks: OrtChunks;
  readonly files: EmbedFile[];
  /** Every source file the build read (absolute paths): what a cached build is stale against. */
  readonly inputs: string[];
}

export interface BuildEmbedOptions {
  readonly minify?: boolean;
  readonly sourcemap?: boolean;
}

const OUR_FILES = /^embed(?:-local-[A-Z0-9]+)?\.js(?:\.map)?$/;

/**
 * `import { z } from 'zod'` keeps zod's whole namespace, every translation of its error messages
 * included (~250 KB); the model only parses manifests, in English. Only `z.locales.*` loses them.
 */
const zodEnglishOnly: Plugin = {
  name: 'aurora-zod-english-only',
  setup(b) {
    b.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, (args) => ({
      contents: "export { default as en } from './en.js';",
      resolveDir: path.dirname(args.path),
    }));
  },
};

/** In embed.js, `import('./local/index.ts')` becomes a relative import of the built chunk. */
function localChunkExternal(chunk: string): Plugin {
  return {
    name: 'aurora-local-chunk',
    setup(b) {
      b.onResolve({ filter: /[\\/]local[\\/]index\.ts$/ }, () => ({ path: `./${chunk}`, external: true }));
    },
  };
}

export interface OrtChunks {
  readonly wasm: string;
  readonly webgpu: string;
  readonly webgpuJspi: string;
}

/** The local chunk's `import('./ort-<build>.ts')` -> its chunk's file name. */
const ORT_SOURCES: Record<keyof OrtChunks, string> = { wasm: 'ort-wasm.ts', webgpu: 'ort-webgpu.ts', webgpuJspi: 'ort-webgpu-jspi.ts' };

/** In the local chunk, `import('./ort-wasm.ts')` and the like become relative imports of their chunks. */
function ortChunksExternal(chunks: OrtChunks): Plugin {
  const byPath = new Map(Object.entries(ORT_SOURCES).map(([k, file]) => [`./${file}`, chunks[k as keyof OrtChunks]]));
  return {
    name: 'aurora-ort-chunks',
    setup(b) {
      b.onResolve({ filter: /^\.\/ort-[\w-]+\.ts$/ }, (args) => {
        const chunk = byPath.get(args.path);
        return chunk ? { path: `./${chunk}`, external: true } : undefined;
      });
    },
  };
}

const jsOutput = (meta: Metafile) =>
  Object.keys(meta.outputs)
    .map((k) => path.basename(k))
    .find((n) => n.endsWith('.js'))!;

function inputsOf(meta: Metafile, output: string): string[] {
  const key = Object.keys(meta.outputs).find((k) => path.resolve(k) === path.resolve(output));
  return key ? Object.keys(meta.outputs[key].inputs) : [];
}

/**
 * Builds the embed script into `outDir`: embed.js (the element and the API client, small) and
 * embed-local-<hash>.js chunks, imported only by mode="local": the model pipeline, and
 * onnxruntime-web's WASM build or its WebGPU build (whichever the page can use). The Node
 * gateway serves it from its assets folder (apps/edge/src/node/assets.ts), the Worker from its
 * static assets; nothing built is committed.
 */
export async function buildEmbed(outDir: string, options: BuildEmbedOptions = {}): Promise<EmbedBuild> {
  const out = path.resolve(outDir);
  fs.mkdirSync(out, { recursive: true });
  for (const name of fs.readdirSync(out)) if (OUR_FILES.test(name)) fs.rmSync(path.join(out, name));
  const common = {
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: options.minify ?? true,
    sourcemap: options.sourcemap ?? false,
    legalComments: 'eof',
    metafile: true,
    logLevel: 'silent',
    outdir: out,
  } as const;

  // onnxruntime-web's builds without the inlined glue: each imports its ort-wasm-simd-threaded[.jspi|.asyncify].mjs from wasmPaths.
  const inputs = new Set<string>();
  const read = (meta: Metafile) => {
    for (const input of Object.keys(meta.inputs)) inputs.add(path.resolve(input));
    return meta;
  };
  const ortChunk = async (which: keyof OrtChunks) =>
    jsOutput(
      read(
        (
          await build({
            ...common,
            entryPoints: { 'embed-local': path.join(SRC, 'local', ORT_SOURCES[which]) },
            entryNames: '[name]-[hash]',
            conditions: ['onnxruntime-web-use-extern-wasm'],
          })
        ).metafile,
      ),
    );
  const ortChunks: OrtChunks = { wasm: await ortChunk('wasm'), webgpu: await ortChunk('webgpu'), webgpuJspi: await ortChunk('webgpuJspi') };
  const local = await build({
    ...common,
    entryPoints: { 'embed-local': path.join(SRC, 'local/index.ts') },
    entryNames: '[name]-[hash]',
    plugins: [ortChunksExternal(ortChunks), zodEnglishOnly],
  });
  const localChunk = jsOutput(read(local.metafile));
  const ortInLocal = inputsOf(local.metafile, path.join(out, localChunk)).filter((i) => /onnxruntime-web/.test(i));
  if (ortInLocal.length > 0) throw new Error(`the local chunk must import onnxruntime-web lazily, but it bundles ${ortInLocal.join(', ')}`);

  const main = await build({ ...common, entryPoints: { embed: path.join(SRC, 'embed.ts') }, entryNames: '[name]', plugins: [localChunkExternal(localChunk)] });
  read(main.metafile);
  const heavy = inputsOf(main.metafile, path.join(out, 'embed.js')).filter((i) => /onnxruntime|[\\/]model[\\/]src[\\/]|zod/.test(i));
  if (heavy.length > 0) throw new Error(`embed.js must not contain onnxruntime-web or the model, but it bundles ${heavy.join(', ')}`);

  const files = fs
    .readdirSync(out)
    .filter((n) => OUR_FILES.test(n))
    .sort()
    .map((name): EmbedFile => {
      const bytes = fs.readFileSync(path.join(out, name));
      const contentType = name.endsWith('.map') ? 'application/json; charset=utf-8' : 'text/javascript; charset=utf-8';
      return { name, bytes: bytes.byteLength, gzipBytes: gzipSync(bytes).byteLength, contentType, immutable: name.startsWith('embed-local-') };
    });
  return { outDir: out, entry: 'embed.js', localChunk, ortChunks, files, inputs: [...inputs].sort() };
}
