/** The SDK's Server-Sent Events parser (src/sse.ts) on streams cut at every awkward place. */
import { describe, expect, it } from 'vitest';
import { parseSse, type SseMessage, type SseState } from '../src/index.ts';

function streamOf(chunks: readonly (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(typeof c === 'string' ? encoder.encode(c) : c);
      controller.close();
    },
  });
}

async function collect(chunks: readonly (string | Uint8Array)[], state?: SseState): Promise<SseMessage[]> {
  const out: SseMessage[] = [];
  for await (const m of parseSse(streamOf(chunks), state)) out.push(m);
  return out;
}

/** Every way of cutting `text` in two (and into single characters), as a network may deliver it. */
function splits(text: string): string[][] {
  const out: string[][] = [[text], [...text]];
  for (let i = 1; i < text.length; i++) out.push([text.slice(0, i), text.slice(i)]);
  return out;
}

describe('parseSse', () => {
  it('reads ids, event names and multi-line data, skipping keep-alive comments, however the bytes are cut', async () => {
    const text = ': keep-alive\n\nid: 1\nevent: progress\ndata: {"a":\ndata: 1}\n\n: keep-alive\n\nid: 2\r\nevent: completed\r\ndata: {"b":2}\r\n\r\n';
    for (const chunks of splits(text)) {
      expect(await collect(chunks), JSON.stringify(chunks)).toEqual([
        { id: '1', event: 'progress', data: '{"a":\n1}' },
        { id: '2', event: 'completed', data: '{"b":2}' },
      ]);
    }
  });

  it('takes CR alone as a line end, even at the end of a chunk', async () => {
    for (const chunks of splits('data: x\r\rdata: y\r\n\r\n')) {
      expect((await collect(chunks)).map((m) => m.data)).toEqual(['x', 'y']);
    }
  });

  it('keeps the last id for later events, updates it for events without data, and reads retry', async () => {
    const state: SseState = { lastEventId: null, retryMs: null };
    const out = await collect(['retry: 2500\nid: 7\ndata: a\n\ndata: b\n\nid: 9\n\nretry: soon\n\n'], state);
    expect(out).toEqual([
      { id: '7', event: 'message', data: 'a' },
      { id: '7', event: 'message', data: 'b' },
    ]);
    expect(state).toEqual({ lastEventId: '9', retryMs: 2500 });
  });

  it('strips one space after the colon only, reads fields without a colon, ignores unknown fields and a BOM', async () => {
    expect(await collect(['\ufeffdata:  two spaces\nfoo: bar\ndata\nevent:x\n\n'])).toEqual([{ id: null, event: 'x', data: ' two spaces\n' }]);
  });

  it('drops a last event that the stream cut off before its blank line, and its id (resume after the last whole one)', async () => {
    const state: SseState = { lastEventId: null, retryMs: null };
    expect(await collect(['id: 1\ndata: whole\n\nid: 2\ndata: cut'], state)).toEqual([{ id: '1', event: 'message', data: 'whole' }]);
    expect(state.lastEventId).toBe('1');
  });

  it('decodes UTF-8 split inside a character', async () => {
    const bytes = new TextEncoder().encode('data: café ☕\n\n');
    const at = bytes.indexOf(0xe2) + 1;
    expect((await collect([bytes.subarray(0, at), bytes.subarray(at)])).map((m) => m.data)).toEqual(['café ☕']);
  });
});
