// Entry of a model worker thread. Node 20 does not run `--import` loaders (tsx) for a worker's
// entry file, so this plain-JS file registers tsx inside the worker and then loads the TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./model-worker.ts');
