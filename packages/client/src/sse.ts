/**
 * A Server-Sent Events parser (the WHATWG HTML "event stream" interpretation): lines end in CRLF,
 * LF or CR; `:` starts a comment (keep-alives); `data` lines join with "\n"; `id` persists to later
 * events; `retry` sets the reconnection time; an empty line dispatches; a message without data is
 * not dispatched; an unterminated last message is dropped (it may have been cut off), and so is
 * its id: the id to resume after is the last complete message's.
 */

export interface SseMessage {
  /** The event type (`message` when the stream named none). */
  readonly event: string;
  readonly data: string;
  /** The last event id seen so far in this stream (it carries over to messages without `id:`), or null. */
  readonly id: string | null;
}

export interface SseState {
  /**
   * The id to resume after: the last `id:` of a message that was complete (its blank line
   * received; also one without data), never of one a dropped connection cut off.
   */
  lastEventId: string | null;
  /** The last valid `retry:` in milliseconds, or null. */
  retryMs: number | null;
}

/** Yields every dispatched message of a byte stream; `state` is updated as fields arrive (for reconnecting). */
export async function* parseSse(body: ReadableStream<Uint8Array>, state: SseState = { lastEventId: null, retryMs: null }): AsyncGenerator<SseMessage> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let first = true;
  let data: string[] = [];
  let event = '';
  let idBuffer = state.lastEventId;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      if (first && buffer.length > 0) {
        if (buffer.charCodeAt(0) === 0xfeff) buffer = buffer.slice(1);
        first = false;
      }
      for (;;) {
        const end = buffer.search(/[\r\n]/);
        if (end < 0) break;
        // A CR at the very end of the buffer may be the first half of a CRLF split across chunks.
        if (buffer[end] === '\r' && end === buffer.length - 1 && !done) break;
        const line = buffer.slice(0, end);
        buffer = buffer.slice(buffer[end] === '\r' && buffer[end + 1] === '\n' ? end + 2 : end + 1);
        if (line === '') {
          state.lastEventId = idBuffer;
          if (data.length > 0) yield { event: event || 'message', data: data.join('\n'), id: state.lastEventId };
          data = [];
          event = '';
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' ')) value = value.slice(1);
        if (field === 'data') data.push(value);
        else if (field === 'event') event = value;
        else if (field === 'id') {
          if (!value.includes('\0')) idBuffer = value;
        } else if (field === 'retry') {
          if (/^\d+$/.test(value)) state.retryMs = Number(value);
        }
      }
      if (done) return;
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
}
