/** Helpers of the streaming tests (test/openai-stream*.test.ts): strict SSE parsing and the SDK's events collected. */
import { readBundleDir } from '@aurora-edge/model/node';
import type OpenAI from 'openai';
import { expect } from 'vitest';

/** An event as the gateway streams it: OpenAI's fields and ours (which image, where it came from). */
export type StreamEvent = OpenAI.ImageGenStreamEvent & { seed: number; id?: string; cached?: boolean; route?: string; partial_size?: string };

/** Splits SSE text into its blocks, checking each is a `: keep-alive` comment or exactly `event:` + one `data:` JSON line. */
export function parseSse(text: string): { comments: number; events: { event: string; data: Record<string, unknown> }[] } {
  expect(text.endsWith('\n\n')).toBe(true);
  let comments = 0;
  const events: { event: string; data: Record<string, unknown> }[] = [];
  for (const block of text.slice(0, -2).split('\n\n')) {
    if (block === ': keep-alive') {
      comments++;
      continue;
    }
    const [event, data, ...rest] = block.split('\n');
    expect(rest).toEqual([]);
    expect(event).toMatch(/^event: (image_generation\.partial_image|image_generation\.completed|error)$/);
    expect(data).toMatch(/^data: \{.*\}$/);
    events.push({ event: event.slice('event: '.length), data: JSON.parse(data.slice('data: '.length)) });
  }
  return { comments, events };
}

/** Every event the SDK's stream yields, in order. */
export async function collect(stream: AsyncIterable<OpenAI.ImageGenStreamEvent>): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for await (const event of stream) out.push(event as StreamEvent);
  return out;
}

/** The partial images' sides a bundle can stream, smallest first: its serving graph's lower-resolution outputs (manifest serving.partials); none without one. */
export function bundlePartials(dir: string): readonly number[] {
  return (readBundleDir(dir).manifest as { serving?: { partials?: readonly number[] } }).serving?.partials ?? [];
}
