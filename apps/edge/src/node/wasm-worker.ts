/**
 * The gateway's WASM generator thread (Node): one bundle's onnxruntime-web pipeline, one image at a
 * time. onnxruntime-web's single-threaded WASM runs a whole graph synchronously on the calling
 * thread, so generating on Node's main thread stalled every other request (cache hits, /healthz)
 * for the length of each image; here it stalls only this thread. One model copy per thread.
 * Prompt interpolations run here too (their stages load on the first), APNG encoding included.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { AuroraInputError } from '@aurora-edge/model';
import { readBundleDir } from '@aurora-edge/model/node';
import { type ImageWithPartials, WITH_PARTIALS, type WasmPipeline } from '../generate/wasm.ts';
import { loadOrtWeb } from './ort.ts';
import type { FromWasmWorker, ToWasmWorker, WasmWorkerData } from './wasm-protocol.ts';

const { bundleDir } = workerData as WasmWorkerData;
const port = parentPort!;
const send = (message: FromWasmWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

let pipeline: Required<WasmPipeline>;
let heapBytes: () => number;
try {
  const ort = await loadOrtWeb();
  heapBytes = ort.watch.heapBytes;
  const source = readBundleDir(bundleDir);
  pipeline = await ort.load(source);
  send({ type: 'ready', contentHash: source.contentHash, heapBytes: heapBytes() });
} catch (error) {
  send({ type: 'failed', message: (error as Error).message ?? String(error) });
  process.exit(1);
}

port.on('message', async (message: ToWasmWorker) => {
  const { id } = message;
  try {
    if ('interpolate' in message) {
      const interpolation = await pipeline.interpolate(message.interpolate, message.animation);
      const buffers = [interpolation.apng, ...interpolation.frames.map((f) => f.png)].map((b) => b.buffer as ArrayBuffer);
      send({ type: 'result', id, interpolation, heapBytes: heapBytes() }, [...new Set(buffers)]);
      return;
    }
    const images: ImageWithPartials[] = await pipeline.generate(message.requests, message.partials ? WITH_PARTIALS : undefined);
    const partials = images.flatMap((im) => im.partials ?? []);
    const buffers = [
      ...images.flatMap((im) => [im.png.buffer, im.pixels.buffer]),
      ...partials.flatMap((p) => (p.pixels ? [p.png.buffer, p.pixels.buffer] : [p.png.buffer])),
    ];
    send({ type: 'result', id, images, heapBytes: heapBytes() }, [...new Set(buffers as ArrayBuffer[])]);
  } catch (error) {
    const e = error as Error;
    const field = error instanceof AuroraInputError ? error.field : undefined;
    send({ type: 'result', id, heapBytes: heapBytes(), error: { name: e.name ?? 'Error', message: e.message ?? String(error), field } });
  }
});
