/**
 * Watches WebAssembly instantiation so the gateway can report the wasm heap (ORT's linear memory:
 * it starts at 16 MiB and only grows). On Workers it also swaps a placeholder binary for the
 * precompiled module, since Workers forbid compiling wasm from bytes.
 */
export interface WasmWatch {
  /** The largest linear memory seen, in bytes (0 before the first instantiation). */
  heapBytes(): number;
}

export interface WatchOptions {
  /** When WebAssembly.instantiate is called with `placeholder` (or a view of it), instantiate `module` instead. */
  readonly substitute?: { readonly placeholder: ArrayBuffer; readonly module: WebAssembly.Module };
}

function collect(found: Set<WebAssembly.Memory>, value: unknown, depth = 0): void {
  if (!value || typeof value !== 'object' || depth > 2) return;
  for (const v of Object.values(value)) {
    if (v instanceof WebAssembly.Memory) found.add(v);
    else collect(found, v, depth + 1);
  }
}

export function watchWasm(options: WatchOptions = {}): WasmWatch {
  const memories = new Set<WebAssembly.Memory>();
  const original = WebAssembly.instantiate.bind(WebAssembly) as (source: unknown, imports?: WebAssembly.Imports) => Promise<unknown>;
  const sub = options.substitute;
  const wrapped = async (source: unknown, imports?: WebAssembly.Imports) => {
    collect(memories, imports);
    // The glue wraps the placeholder in a Uint8Array view (same buffer) before instantiating.
    if (sub && (source === sub.placeholder || (ArrayBuffer.isView(source) && source.buffer === sub.placeholder))) {
      const instance = (await original(sub.module, imports)) as WebAssembly.Instance;
      collect(memories, instance.exports);
      return { module: sub.module, instance };
    }
    const result = (await original(source, imports)) as WebAssembly.Instance | WebAssembly.WebAssemblyInstantiatedSource;
    collect(memories, 'instance' in result ? result.instance.exports : result.exports);
    return result;
  };
  (WebAssembly as { instantiate: unknown }).instantiate = wrapped;
  return { heapBytes: () => Math.max(0, ...[...memories].map((m) => m.buffer.byteLength)) };
}
