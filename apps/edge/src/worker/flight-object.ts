// @ts-expect-error: the project has no Workers types; this module exists only inside workerd.
import { DurableObject } from 'cloudflare:workers';
import { type ClaimReply, DEFAULT_FLIGHT_LIMITS, type FlightAnswer, FlightBoard, type FlightCounts, type FlightOutcome } from './flight-board.ts';

/**
 * The Durable Object class that owns the in-flight generations of one shard of cache keys
 * (wrangler.toml binding FLIGHTS, class GenerationFlights): flights.ts names an object per shard
 * and calls these methods over Workers RPC. The object keeps its board in memory only: if it is
 * evicted or restarts, callers waiting on it see their call fail and claim again, and a lost claim
 * costs at most one duplicate generation, never a hang. No storage is used.
 */
export class GenerationFlights extends (DurableObject as new (ctx: unknown, env: unknown) => object) {
  private readonly board = new FlightBoard(DEFAULT_FLIGHT_LIMITS);
  private timer: ReturnType<typeof setTimeout> | null = null;

  claim(keys: string[]): ClaimReply {
    const reply = this.board.claim(keys);
    this.schedule();
    return reply;
  }

  wait(ticket: string): Promise<Record<string, FlightAnswer> | null> {
    return this.board.wait(ticket);
  }

  report(owner: string, outcomes: Record<string, FlightOutcome>): void {
    this.board.report(owner, outcomes);
  }

  stats(): FlightCounts {
    return this.board.stats();
  }

  /** Wakes the waiters of a lease that lapses unreported (their pending calls keep the object alive). */
  private schedule(): void {
    if (this.timer !== null) return;
    const next = this.board.nextExpiry();
    if (next === null) return;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        this.board.sweep();
        this.schedule();
      },
      Math.max(0, next - Date.now()) + 5,
    );
  }
}
