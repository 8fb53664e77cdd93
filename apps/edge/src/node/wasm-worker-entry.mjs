// Entry of the gateway's WASM generator thread. Node 20 does not run `--import` loaders (tsx) for
// a worker's entry file, so this plain-JS file registers tsx inside the worker, then loads the TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./wasm-worker.ts');
