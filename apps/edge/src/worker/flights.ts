import { EdgeError, isDatabaseBusy, toEdgeError } from '../errors.ts';
import type { SharedFlight, SharedImage } from '../generate/shared-flight.ts';
import type { ClaimReply, FlightAnswer, FlightError, FlightOutcome } from './flight-board.ts';

/** The GenerationFlights object as Workers RPC presents it to a caller (all calls are async). */
export interface FlightStub {
  claim(keys: string[]): Promise<ClaimReply>;
  wait(ticket: string): Promise<Record<string, FlightAnswer> | null>;
  report(owner: string, outcomes: Record<string, FlightOutcome>): Promise<void>;
}

/** The part of a DurableObjectNamespace this uses. */
export interface FlightNamespace {
  idFromName(name: string): unknown;
  get(id: unknown): FlightStub;
}

export interface DurableFlightOptions {
  /** Objects the keys are spread over (by the key's leading hex digits). */
  readonly shards: number;
  /** Retry-After seconds on a 503. */
  readonly retryAfterS: number;
  readonly log?: (message: string, error?: unknown) => void;
}

/** How often a request claims again after a lease lapsed or its object restarted, before a 503. */
const MAX_ROUNDS = 3;

/**
 * Workers' SharedFlight: every key's in-flight generation is owned by the Durable Object of its
 * shard (idFromName("shard-<n>")). Per round: claim each shard's keys; generate the keys this
 * request was granted (one batch, in this isolate, by `produce`) and report their outcome to
 * their objects; meanwhile wait on the objects for the keys others are generating. An error is
 * reported as the claimant's own request answered it, so every waiter gets that same error; a
 * lapsed lease (a claimant that died) sends its waiters round again. An object that cannot be
 * reached is skipped: its keys are generated here (coalescing lost, the request still served).
 */
export class DurableFlight implements SharedFlight {
  constructor(
    private readonly namespace: FlightNamespace,
    private readonly options: DurableFlightOptions,
  ) {}

  shardOf(key: string): number {
    return Number.parseInt(key.slice(0, 8), 16) % this.options.shards;
  }

  async share(keys: readonly string[], produce: (mine: string[]) => Promise<SharedImage[]>): Promise<Map<string, SharedImage>> {
    const got = new Map<string, SharedImage>();
    let left = [...new Set(keys)];
    for (let round = 1; left.length > 0; round++) {
      if (round > MAX_ROUNDS) throw this.busy(`the generation of ${left.length} images was handed over ${MAX_ROUNDS} times without finishing`);
      const retry = await this.round(left, produce, got);
      left = retry;
    }
    return got;
  }

  /** One claim, generate-and-report, wait round; returns the keys to go round again. */
  private async round(keys: string[], produce: (mine: string[]) => Promise<SharedImage[]>, got: Map<string, SharedImage>): Promise<string[]> {
    const groups = new Map<number, string[]>();
    for (const key of keys) {
      const shard = this.shardOf(key);
      groups.set(shard, [...(groups.get(shard) ?? []), key]);
    }
    const claims = await Promise.all(
      [...groups].map(async ([shard, group]) => {
        const stub = this.namespace.get(this.namespace.idFromName(`shard-${shard}`));
        try {
          return { stub, group, reply: await stub.claim(group) };
        } catch (error) {
          this.options.log?.(`aurora-edge: generation object shard-${shard} unreachable; generating ${group.length} images here`, error);
          return { stub: null, group, reply: { owner: '', mine: group, ticket: null } as ClaimReply };
        }
      }),
    );
    const refused = claims.find((c) => 'refused' in c.reply);
    if (refused) {
      // Give back what the other shards granted, so their waiters claim again at once.
      const error = this.busy((refused.reply as { refused: string }).refused);
      await this.reportAll(claims, () => ({ ok: false, error: flightError(error) }));
      throw error;
    }
    const granted = claims as { stub: FlightStub | null; group: string[]; reply: Exclude<ClaimReply, { refused: string }> }[];
    const mine = granted.flatMap((c) => c.reply.mine);

    const generating = (async () => {
      if (mine.length === 0) return;
      let made: SharedImage[];
      try {
        made = await produce(mine);
      } catch (error) {
        const shared = flightError(this.asEdgeError(error));
        await this.reportAll(granted, () => ({ ok: false, error: shared }));
        throw error;
      }
      const byKey = new Map(mine.map((key, i) => [key, made[i]]));
      for (const [key, image] of byKey) got.set(key, image);
      await this.reportAll(granted, (key) => ({ ok: true, ...byKey.get(key)! }));
    })();

    const retry: string[] = [];
    const waiting = granted
      .filter((c) => c.reply.ticket !== null)
      .map(async (c) => {
        const others = c.group.filter((k) => !c.reply.mine.includes(k));
        let answers: Record<string, FlightAnswer> | null = null;
        try {
          answers = await c.stub!.wait(c.reply.ticket!);
        } catch (error) {
          this.options.log?.('aurora-edge: waiting on a generation object failed; claiming again', error);
        }
        for (const key of others) {
          const answer = answers?.[key];
          if (!answer || 'retry' in answer) retry.push(key);
          else if (!answer.ok) throw rebuild(answer.error);
          else got.set(key, { png: answer.png, etag: answer.etag, route: answer.route });
        }
      });
    // This request's own generation error wins; a waited-for key's error comes next.
    const [own, ...waited] = await Promise.allSettled([generating, ...waiting]);
    if (own.status === 'rejected') throw own.reason;
    for (const w of waited) if (w.status === 'rejected') throw w.reason;
    return retry;
  }

  private async reportAll(claims: readonly { stub: FlightStub | null; reply: ClaimReply }[], outcomeOf: (key: string) => FlightOutcome): Promise<void> {
    await Promise.all(
      claims.map(async ({ stub, reply }) => {
        if (!stub || 'refused' in reply || reply.mine.length === 0) return;
        try {
          await stub.report(reply.owner, Object.fromEntries(reply.mine.map((key) => [key, outcomeOf(key)])));
        } catch (error) {
          // Its waiters are released when the lease lapses.
          this.options.log?.('aurora-edge: reporting to a generation object failed', error);
        }
      }),
    );
  }

  /** The error the claimant's own request answers (generate() turns a busy database into this 503 too). */
  private asEdgeError(error: unknown): EdgeError {
    if (!(error instanceof EdgeError) && isDatabaseBusy(error)) return EdgeError.databaseBusy(this.options.retryAfterS, error);
    return toEdgeError(error);
  }

  private busy(message: string): EdgeError {
    return new EdgeError(503, 'busy', `${message}; retry later`, { headers: { 'retry-after': String(this.options.retryAfterS) } });
  }
}

function flightError(e: EdgeError): FlightError {
  return {
    status: e.status,
    code: e.code,
    message: e.message,
    ...(e.options.headers ? { headers: e.options.headers } : {}),
    ...(e.field ? { field: e.field } : {}),
  };
}

/** The claimant's error as a waiter's own. */
function rebuild(e: FlightError): EdgeError {
  return new EdgeError(e.status as EdgeError['status'], e.code, e.message, { headers: e.headers, field: e.field });
}
