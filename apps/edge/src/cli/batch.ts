/**
 * `aurora batch prompts.txt --seeds 0..3 --gateway URL`: warms a gateway's cache with every prompt
 * of a file at every seed, as one batch (POST /v1/batches), and follows it to the end with a
 * progress bar. Safe to re-run: the batch is created with an Idempotency-Key derived from the file
 * and the options (a crash between creating and saving cannot make a second batch), and its id is
 * kept in a state file (`<prompts>.batch.json`), so running again follows the same batch.
 * Exit codes: 0 every image made, 1 some failed (listed) or the batch ended otherwise, 2 a mistake
 * in the arguments, the file, or the gateway's address or key.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { AuroraApiError, AuroraClient, type Batch, type BatchCreateRequest, type BatchCreateResult } from '@aurora-edge/client';
import { UsageError } from '@aurora-edge/model/cli';

/** The gateway's bounds (apps/edge/src/api/batch-schemas.ts). */
export const MAX_BATCH_IMAGES = 10_000;
const MAX_SEED = 0xffffffff;

export const BATCH_USAGE = `usage:
  aurora batch <prompts.txt> --gateway <url> [--seeds 0..3 | 5 | 1,4,9] [--key <key>] [--model <id>] [--psi <0..1>]
               [--webhook <https-url>] [--state <file>]

  One prompt per line (blank lines and lines starting with # are skipped); every prompt at every
  seed is one image (default seed 0). The API key: --key, or the AURORA_API_KEY environment variable.
  The batch id is kept in --state (default <prompts>.batch.json): running again resumes following it.`;

export interface BatchIo {
  /** Results (stdout). */
  readonly out: (line: string) => void;
  /** Progress and notes (stderr). */
  readonly err: (text: string) => void;
  /** Whether err is a terminal: a redrawn progress bar there, plain `done/total` lines otherwise. */
  readonly isTTY: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Stops following (Ctrl-C): the batch keeps running in the gateway. */
  readonly signal?: AbortSignal;
  /** A fetch for the SDK (tests). */
  readonly fetch?: typeof fetch;
}

/** One prompt of the file with the line it came from (1-based, for error messages). */
export interface PromptLine {
  readonly line: number;
  readonly prompt: string;
}

/** Prompts of a file: one per line, trimmed; blank lines and `#` comments skipped. */
export function parsePrompts(text: string): PromptLine[] {
  const out: PromptLine[] = [];
  text
    .replace(/^\ufeff/, '')
    .split(/\r\n|\r|\n/)
    .forEach((raw, i) => {
      const prompt = raw.trim();
      if (prompt !== '' && !prompt.startsWith('#')) out.push({ line: i + 1, prompt });
    });
  return out;
}

/**
 * `--seeds`: `a..b` (inclusive), `n`, or a comma-separated list of either (`1,4,9`, `0..3,10`),
 * each a uint32; in the order given, without repeats. Throws UsageError naming --seeds.
 */
export function parseSeeds(spec: string, max = MAX_BATCH_IMAGES): number[] {
  const fail = (why: string) => new UsageError(`--seeds ${why}, got "${spec}" (examples: 0..3, 5, 1,4,9)`);
  const seeds: number[] = [];
  const seen = new Set<number>();
  const uint = (s: string) => {
    if (!/^\d{1,10}$/.test(s) || Number(s) > MAX_SEED) throw fail(`takes seeds in [0, ${MAX_SEED}]`);
    return Number(s);
  };
  if (spec.trim() === '') throw fail('is empty');
  for (const part of spec.split(',').map((p) => p.trim())) {
    const range = /^(\S+?)\.\.(\S+)$/.exec(part);
    const [from, to] = range ? [uint(range[1]), uint(range[2])] : [uint(part), uint(part)];
    if (to < from) throw fail(`range ${part} runs backwards`);
    if (to - from + 1 > max || seeds.length + (to - from + 1) > max) throw fail(`names more than ${max} seeds`);
    for (let s = from; s <= to; s++) {
      if (seen.has(s)) throw fail(`names seed ${s} twice`);
      seen.add(s);
      seeds.push(s);
    }
  }
  return seeds;
}

/** What a run sends: the request and, per item, the prompt's line (to name it in errors). */
export interface BatchPlan {
  readonly request: BatchCreateRequest;
  readonly lines: readonly number[];
  /** Idempotency-Key: the same file and options give the same key. */
  readonly idempotencyKey: string;
}

export function planBatch(prompts: readonly PromptLine[], seeds: readonly number[], options: { model?: string; psi?: number; webhook?: string }): BatchPlan {
  const items: { prompt: string; seed: number; n: number; truncation_psi?: number }[] = [];
  const lines: number[] = [];
  for (const p of prompts) {
    for (const seed of seeds) {
      items.push(options.psi === undefined ? { prompt: p.prompt, seed, n: 1 } : { prompt: p.prompt, seed, n: 1, truncation_psi: options.psi });
      lines.push(p.line);
    }
  }
  const request: BatchCreateRequest = {
    items,
    ...(options.model === undefined ? {} : { model: options.model }),
    ...(options.webhook === undefined ? {} : { webhook: { url: options.webhook, events: ['completed'] } }),
  };
  const idempotencyKey = `aurora-batch-${createHash('sha256').update(JSON.stringify(request)).digest('hex')}`;
  return { request, lines, idempotencyKey };
}

/** The state file: which batch this file and these options made, on which gateway. */
interface BatchState {
  readonly gateway: string;
  readonly batch: string;
  readonly idempotencyKey: string;
  readonly prompts: string;
  readonly total: number;
  readonly status?: Batch['status'];
}

function readState(file: string): BatchState | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new UsageError(`--state ${file}: cannot read it: ${(error as Error).message}`);
  }
  try {
    const state = JSON.parse(text) as BatchState;
    if (typeof state.batch === 'string' && typeof state.idempotencyKey === 'string' && typeof state.gateway === 'string') return state;
  } catch {
    // Reported below.
  }
  throw new UsageError(`--state ${file}: not a state file of aurora batch (delete it to start over)`);
}

/** Written to a temporary file and renamed over the old one: a crash leaves the old state or the new, never half of one. */
function writeState(file: string, state: BatchState): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  fs.renameSync(tmp, file);
}

const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/** `[#######.............]  1234/4000  31%  (2 failed)` */
export function progressLine(b: Pick<Batch, 'done' | 'failed' | 'cancelled' | 'total'>, width = 30): string {
  const finished = b.done + b.failed + b.cancelled;
  const share = b.total === 0 ? 1 : finished / b.total;
  const filled = Math.round(share * width);
  const extra = [b.failed > 0 ? `${b.failed} failed` : '', b.cancelled > 0 ? `${b.cancelled} cancelled` : ''].filter(Boolean).join(', ');
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${b.done}/${b.total} ${Math.floor(share * 100)}%${extra ? ` (${extra})` : ''}`;
}

const consoleIo = (): BatchIo => {
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort(new Error('interrupted')));
  return {
    out: (l) => console.log(l),
    err: (t) => process.stderr.write(t),
    isTTY: Boolean(process.stderr.isTTY),
    env: process.env,
    signal: controller.signal,
  };
};

const describeError = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** A mistake the caller can fix (exit 2) for what the gateway said no to before any batch existed. */
function creationError(error: unknown, gateway: string, plan: BatchPlan, file: string): Error {
  if (!(error instanceof AuroraApiError)) return error as Error;
  if (error.code === 'network_error') return new UsageError(`cannot reach the gateway at ${gateway}: ${describeError(error.cause ?? error)}`);
  if (error.status === 401 || error.status === 403)
    return new UsageError(`the gateway refused the API key (${error.code}): ${error.message} (pass --key or set AURORA_API_KEY)`);
  if (error.status === 404 && error.code === 'http_404')
    return new UsageError(`${gateway} has no batch API (POST /v1/batches answered 404): is it an Aurora gateway?`);
  if (error.status === 400) {
    const item = /^items\[(\d+)\]/.exec(error.field ?? '');
    const where = item ? `${file} line ${plan.lines[Number(item[1])]}: ` : '';
    const option = error.field === 'model' ? '--model ' : error.field?.startsWith('webhook') ? '--webhook ' : '';
    return new UsageError(`${where}${option}${error.message}`);
  }
  return error;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });

export async function batchCommand(args: string[], io: BatchIo = consoleIo()): Promise<number> {
  const options = {
    seeds: { type: 'string' },
    gateway: { type: 'string' },
    key: { type: 'string' },
    model: { type: 'string' },
    psi: { type: 'string' },
    webhook: { type: 'string' },
    state: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  } as const;
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options });
  if (values.help) {
    io.out(BATCH_USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`batch takes one file of prompts\n${BATCH_USAGE}`);
  const file = positionals[0];
  if (values.gateway === undefined) throw new UsageError(`batch needs --gateway <url> (e.g. http://localhost:8787)\n${BATCH_USAGE}`);
  let gateway: string;
  try {
    const url = new URL(values.gateway);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http(s)');
    gateway = url.href.replace(/\/+$/, '');
  } catch {
    throw new UsageError(`--gateway must be an http(s) URL, got "${values.gateway}"`);
  }
  let psi: number | undefined;
  if (values.psi !== undefined) {
    psi = Number(values.psi);
    if (values.psi.trim() === '' || !(psi >= 0 && psi <= 1)) throw new UsageError(`--psi must be a number in [0, 1], got "${values.psi}"`);
  }
  if (values.model !== undefined && values.model.trim() === '') throw new UsageError('--model must name a model (see GET /v1/models)');
  // An empty AURORA_API_KEY (`AURORA_API_KEY= aurora batch ...`) is no key, as shells mean it.
  const key = values.key ?? (io.env.AURORA_API_KEY || undefined);
  if (key !== undefined && (key === '' || /\s/.test(key)))
    throw new UsageError(`${values.key !== undefined ? '--key' : 'AURORA_API_KEY'} must be an API key without spaces`);
  const seeds = parseSeeds(values.seeds ?? '0');

  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(
      code === 'ENOENT' ? `${file}: no such file` : code === 'EISDIR' ? `${file} is a folder, not a file of prompts` : `${file}: ${describeError(error)}`,
    );
  }
  const prompts = parsePrompts(text);
  if (prompts.length === 0) throw new UsageError(`${file} has no prompts (one per line; blank lines and # comments are skipped)`);
  const images = prompts.length * seeds.length;
  if (images > MAX_BATCH_IMAGES)
    throw new UsageError(
      `${prompts.length} prompts x ${seeds.length} seeds = ${images} images: a batch holds at most ${MAX_BATCH_IMAGES} (split the file, or use fewer seeds)`,
    );

  const plan = planBatch(prompts, seeds, { model: values.model, psi, webhook: values.webhook });
  const stateFile = values.state ?? `${file}.batch.json`;
  const client = new AuroraClient({ baseUrl: gateway, apiKey: key, fetch: io.fetch });

  // Resume the batch this file and these options already made, or create it.
  let batch: BatchCreateResult | null = null;
  let id: string;
  const state = readState(stateFile);
  if (state && state.idempotencyKey === plan.idempotencyKey && state.gateway === gateway) {
    id = state.batch;
    io.err(`Resuming batch ${id} (${stateFile}).\n`);
  } else {
    if (state) io.err(`${stateFile} followed batch ${state.batch} for other prompts, options or gateway; starting a new batch.\n`);
    for (let attempt = 1; ; attempt++) {
      try {
        batch = await client.batches.create(plan.request, { idempotencyKey: plan.idempotencyKey, signal: io.signal });
        break;
      } catch (error) {
        // Busy or rate limited: wait as told (a few times), as the batch is worth creating.
        if (error instanceof AuroraApiError && (error.status === 429 || error.status === 503 || error.status === 409) && attempt < 5) {
          const wait = Math.min(60, error.retryAfter ?? 2 ** attempt);
          io.err(`The gateway answered ${error.status} ${error.code}; trying again in ${wait} s.\n`);
          await sleep(wait * 1000, io.signal);
          continue;
        }
        throw creationError(error, gateway, plan, file);
      }
    }
    id = batch.id;
    writeState(stateFile, { gateway, batch: id, idempotencyKey: plan.idempotencyKey, prompts: path.resolve(file), total: batch.total });
    io.err(`${batch.replayed ? 'Resuming' : 'Created'} batch ${id}: ${batch.total} images (${stateFile}).\n`);
  }

  // Follow it: the first event is its current state.
  let last: Batch | null = batch;
  let shown = '';
  const show = (b: Batch) => {
    if (io.isTTY) io.err(`\r${progressLine(b)}`);
    else {
      const line = `${b.done}/${b.total}${b.failed > 0 ? ` (${b.failed} failed)` : ''}`;
      if (line !== shown) io.err(`${line}\n`);
      shown = line;
    }
  };
  try {
    if (!batch || !TERMINAL.has(batch.status)) {
      for await (const event of client.batches.events(id, { signal: io.signal })) {
        last = event.data;
        show(event.data);
      }
    } else show(batch);
  } catch (error) {
    if (io.isTTY) io.err('\n');
    if (io.signal?.aborted) {
      io.err(`Stopped following batch ${id}; it keeps running in the gateway. Run the same command again to follow it.\n`);
      return 130;
    }
    if (error instanceof AuroraApiError && error.status === 404 && state) {
      throw new UsageError(`${gateway} has no batch ${id} for this key (from ${stateFile}): delete ${stateFile} to create the batch again`);
    }
    if (error instanceof AuroraApiError && error.code === 'network_error' && !batch && !last)
      throw new UsageError(`cannot reach the gateway at ${gateway}: ${describeError(error.cause ?? error)}`);
    if (error instanceof AuroraApiError && (error.status === 401 || error.status === 403)) throw creationError(error, gateway, plan, file);
    io.err(`Lost batch ${id}: ${describeError(error)}. It keeps running in the gateway; run the same command again to follow it.\n`);
    return 1;
  }
  if (io.isTTY) io.err('\n');
  const final = last!;
  writeState(stateFile, { gateway, batch: id, idempotencyKey: plan.idempotencyKey, prompts: path.resolve(file), total: final.total, status: final.status });
  if (final.status === 'completed' && final.failed === 0) {
    io.out(`Batch ${id} completed: ${final.done}/${final.total} images in the cache.`);
    return 0;
  }
  if (final.status === 'cancelled') io.out(`Batch ${id} was cancelled: ${final.done} of ${final.total} images made, ${final.cancelled} cancelled.`);
  else if (final.failed === 0) io.out(`Batch ${id} failed: the gateway could not run it (${final.done} of ${final.total} images made).`);
  else io.out(`Batch ${id} ${final.status === 'completed' ? 'completed' : 'failed'}: ${final.failed} of ${final.total} images failed:`);
  if (final.failed > 0) {
    for await (const item of client.batches.items(id, { signal: io.signal })) {
      if (item.status !== 'failed') continue;
      const where = plan.lines[item.index] === undefined ? '' : `${file} line ${plan.lines[item.index]}: `;
      const seeds = item.n === 1 ? `seed ${item.seed}` : `seeds ${item.seed}..${item.seed + item.n - 1}`;
      io.out(`  ${where}"${item.prompt}" ${seeds}: ${item.error ? `${item.error.code}: ${item.error.message}` : 'failed'}`);
    }
    io.out('Run the same command again once the cause is fixed: the images already made are cached and cost nothing.');
  }
  return 1;
}
