/**
 * A model worker thread: owns one bundle's serving session (ServingSession) and runs one batch at a time.
 * onnxruntime-node's session.run is synchronous native code on the calling thread, so running it
 * here keeps the HTTP thread free while a batch computes: it goes on accepting and coalescing
 * requests, answers 429 at once and keeps the health endpoints live even during a long GPU batch.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadBundleTokenizer, promptTokenIds, sampleLatents, type ServingSession } from '@aurora-edge/model';
import { loadOrtNode, readBundleDir } from '@aurora-edge/model/node';
import { loadServingSession } from './execution-provider.ts';
import { runServing } from './serving.ts';
import type { FromWorker, ToWorker, WorkerConfig } from './worker-protocol.ts';

const config = workerData as WorkerConfig;
const port = parentPort!;
const send = (message: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

// Only the serving graph: requests bring token ids (checked on the HTTP thread), so no text encoder
// or generator session is loaded, and the tokenizer is read only to make the warm-up's ids.
let session: ServingSession;
try {
  const source = readBundleDir(config.bundleDir);
  const m = source.manifest;
  session = await loadServingSession(await loadOrtNode(), source, config.executionProvider, config);
  const started = performance.now();
  // A full-size batch of real token ids, so the first real batch finds the session warm.
  const n = config.warmUpBatch;
  const ids = promptTokenIds(await loadBundleTokenizer(source), 'warm-up', m.tokenizer.contextLength);
  const inputIds = new Int32Array(n * ids.length);
  for (let i = 0; i < n; i++) inputIds.set(ids, i * ids.length);
  const z = sampleLatents(
    Array.from({ length: n }, (_, i) => i),
    m.generator.config.z_dim,
  );
  await runServing(session, { batch: n, inputIds, z, psi: new Float32Array(n).fill(m.sampling.defaultPsi) });
  send({ type: 'ready', warmUpMs: Math.round(performance.now() - started) });
} catch (error) {
  send({ type: 'failed', message: (error as Error).message ?? String(error) });
  process.exit(1);
}

port.on('message', async ({ id, batch }: ToWorker) => {
  try {
    const output = await runServing(session, batch);
    send(
      { type: 'result', id, output },
      [output.images, ...(output.partials ?? []).map((p) => p.images)].map((a) => a.buffer as ArrayBuffer),
    );
  } catch (error) {
    const e = error as Error;
    send({ type: 'result', id, error: { name: e.name ?? 'Error', message: e.message ?? String(error) } });
  }
});
