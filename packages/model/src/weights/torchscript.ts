/**
 * TorchScript archives (torch.jit.save; OpenAI's released CLIP `ViT-L-14.pt` is one) hold the
 * module itself, not a state dict. Their data.pkl is a tree of `__torch__.*` objects, each built
 * from a dict of every attribute: parameters, buffers, submodules and plain values alike. Which
 * tensor attributes are parameters or buffers is only said by the class declarations in
 * `<prefix>/code/`, e.g.
 *
 *   class ResidualAttentionBlock(Module):
 *     __parameters__ = []
 *     __buffers__ = []
 *     training : bool
 *     attn_mask : Tensor        <- a plain attribute, not part of state_dict()
 *
 * flattenScriptModule rebuilds what `module.state_dict()` returns from that tree: dotted names,
 * each module's parameters, then its buffers, then its submodules' entries. No code from the
 * archive is run; the declarations are only scanned for those two lists.
 */
import { type ZipArchive, readZipEntry } from './zip.ts';

export interface ScriptClass {
  /** `class X(Module)`; other script classes never contribute to a state dict. */
  readonly isModule: boolean;
  readonly parameters: readonly string[];
  /** null when the archive predates `__buffers__` (PyTorch < 1.6): buffers cannot be told apart. */
  readonly buffers: readonly string[] | null;
}

interface PickledClass {
  readonly __module__?: unknown;
  readonly __name__?: unknown;
}

/** The qualified class name of an unpickled TorchScript object, else null. */
export function scriptClassName(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return null;
  const proto = Object.getPrototypeOf(value) as PickledClass | null;
  if (!proto || typeof proto.__module__ !== 'string' || typeof proto.__name__ !== 'string') return null;
  return proto.__module__ === '__torch__' || proto.__module__.startsWith('__torch__.') ? `${proto.__module__}.${proto.__name__}` : null;
}

/** Whether the zip is a TorchScript archive rather than a torch.save one. */
export function isScriptArchive(zip: ZipArchive, prefix: string): boolean {
  for (const name of zip.entries.keys()) {
    if (name.startsWith(`${prefix}code/`) || name === `${prefix}constants.pkl`) return true;
  }
  return false;
}

const CLASS_HEADER = /^class\s+([A-Za-z_]\w*)\s*(?:\(([^)]*)\))?\s*:/;
const NAME_LIST = /^\s+(__parameters__|__buffers__)\s*=\s*\[(.*)\]\s*$/;

/**
 * Every class declared under `<prefix>code/`, by qualified name: the file
 * `code/__torch__/a/___torch_mangle_3.py` declaring `class B(Module)` is
 * `__torch__.a.___torch_mangle_3.B`, the name data.pkl uses.
 */
export function readScriptClasses(zip: ZipArchive, prefix: string): Map<string, ScriptClass> {
  const classes = new Map<string, ScriptClass>();
  const codeDir = `${prefix}code/`;
  for (const [name, entry] of zip.entries) {
    if (!name.startsWith(codeDir) || !name.endsWith('.py')) continue;
    const qualifier = name.slice(codeDir.length, -'.py'.length).replaceAll('/', '.');
    const source = new TextDecoder().decode(readZipEntry(zip, entry));
    for (const [className, cls] of parseClasses(source)) classes.set(`${qualifier}.${className}`, cls);
  }
  return classes;
}

function parseClasses(source: string): Map<string, ScriptClass> {
  const out = new Map<string, ScriptClass>();
  let current: { name: string; isModule: boolean; parameters: string[]; buffers: string[] | null } | null = null;
  const finish = () => {
    if (current) out.set(current.name, { isModule: current.isModule, parameters: current.parameters, buffers: current.buffers });
  };
  for (const line of source.split('\n')) {
    const header = CLASS_HEADER.exec(line);
    if (header) {
      finish();
      const bases = (header[2] ?? '').split(',').map((b) => b.trim());
      current = { name: header[1], isModule: bases.includes('Module'), parameters: [], buffers: null };
      continue;
    }
    if (!current) continue;
    if (line.length > 0 && !/^\s/.test(line)) {
      // Back at column 0 (a function or another statement): the class body is over.
      finish();
      current = null;
      continue;
    }
    const list = NAME_LIST.exec(line);
    if (!list) continue;
    const names = [...list[2].matchAll(/"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'/g)].map((m) => m[1] ?? m[2]);
    if (list[1] === '__parameters__') current.parameters = names;
    else current.buffers = names;
  }
  finish();
  return out;
}

/**
 * The state dict of a TorchScript module tree. Classes without a declaration (an archive
 * without code/, or one we could not parse) and pre-1.6 archives fall back to every tensor
 * attribute, which is what state_dict() held for most modules of that era.
 */
export function flattenScriptModule<T>(root: object, classes: ReadonlyMap<string, ScriptClass>, isTensor: (value: unknown) => value is T): Map<string, T> {
  const out = new Map<string, T>();
  const ancestors = new Set<object>();
  const visit = (module: object, path: string) => {
    if (ancestors.has(module)) return;
    ancestors.add(module);
    const attributes = module as Record<string, unknown>;
    const cls = classes.get(scriptClassName(module) ?? '');
    const add = (name: string) => {
      const value = attributes[name];
      if (isTensor(value) && !out.has(path + name)) out.set(path + name, value);
    };
    if (cls && cls.buffers !== null) {
      for (const name of cls.parameters) add(name);
      for (const name of cls.buffers) add(name);
    } else {
      for (const name of cls?.parameters ?? []) add(name);
      for (const name of Object.keys(attributes)) add(name);
    }
    for (const [name, value] of Object.entries(attributes)) {
      const childClass = scriptClassName(value);
      if (childClass === null || typeof value !== 'object' || value === null) continue;
      if (classes.get(childClass)?.isModule === false) continue;
      visit(value, `${path}${name}.`);
    }
    ancestors.delete(module);
  };
  visit(root, '');
  return out;
}
