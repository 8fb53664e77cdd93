/**
 * A small parser for protobuf text format (what Triton's config.pbtxt is written in), enough to
 * read a model configuration back: fields `name: value` and `name { ... }` (the colon is optional
 * before a message), lists `name: [ a, b ]` of scalars or messages, repeated fields, double-quoted
 * strings, numbers, enum identifiers and `#` comments. Every field maps to the list of its values,
 * in order (a list and repeated occurrences both append).
 */
export type PbValue = string | number | PbMessage;
export interface PbMessage {
  readonly [field: string]: PbValue[];
}

type Token = { kind: 'punct'; text: string } | { kind: 'string'; value: string } | { kind: 'number'; value: number } | { kind: 'ident'; text: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (/\s/.test(ch)) i++;
    else if (ch === '#') while (i < text.length && text[i] !== '\n') i++;
    else if ('{}[]:,'.includes(ch)) tokens.push({ kind: 'punct', text: text[i++] });
    else if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (j >= text.length) throw new SyntaxError(`unterminated string at ${i}`);
      tokens.push({ kind: 'string', value: JSON.parse(text.slice(i, j + 1)) as string });
      i = j + 1;
    } else {
      const m = /^(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)|^([A-Za-z_][A-Za-z0-9_]*)/.exec(text.slice(i));
      if (!m) throw new SyntaxError(`unexpected ${JSON.stringify(ch)} at ${i}`);
      tokens.push(m[1] !== undefined ? { kind: 'number', value: Number(m[1]) } : { kind: 'ident', text: m[2] });
      i += m[0].length;
    }
  }
  return tokens;
}

export function parsePbtxt(text: string): PbMessage {
  const tokens = tokenize(text);
  let at = 0;
  const peek = () => tokens[at];
  const isPunct = (t: Token | undefined, p: string) => t?.kind === 'punct' && t.text === p;
  const expect = (p: string) => {
    if (!isPunct(tokens[at], p)) throw new SyntaxError(`expected "${p}" at token ${at}`);
    at++;
  };

  function value(): PbValue {
    const t = tokens[at++];
    if (!t) throw new SyntaxError('unexpected end');
    if (isPunct(t, '{')) {
      const m = message('}');
      expect('}');
      return m;
    }
    if (t.kind === 'string' || t.kind === 'number') return t.value;
    if (t.kind === 'ident') return t.text;
    throw new SyntaxError(`unexpected "${t.text}" at token ${at - 1}`);
  }

  function message(end: string | null): PbMessage {
    const fields: Record<string, PbValue[]> = {};
    while (at < tokens.length && !isPunct(peek(), end ?? '')) {
      const key = tokens[at++];
      if (key.kind !== 'ident') throw new SyntaxError(`expected a field name at token ${at - 1}`);
      const colon = isPunct(peek(), ':');
      if (colon) at++;
      const list = (fields[key.text] ??= []);
      if (isPunct(peek(), '[')) {
        at++;
        while (!isPunct(peek(), ']')) {
          list.push(value());
          if (isPunct(peek(), ',')) at++;
          else if (!isPunct(peek(), ']')) throw new SyntaxError(`expected "," or "]" at token ${at}`);
        }
        at++;
      } else {
        if (!colon && !isPunct(peek(), '{')) throw new SyntaxError(`expected ":" after ${key.text}`);
        list.push(value());
      }
      if (isPunct(peek(), ',') || (peek()?.kind === 'punct' && (peek() as { text: string }).text === ';')) at++;
    }
    return fields;
  }

  const root = message(null);
  if (at !== tokens.length) throw new SyntaxError(`trailing tokens at ${at}`);
  return root;
}

/** The one value of a field (throws when absent or repeated). */
export function one(m: PbMessage, field: string): PbValue {
  const v = m[field];
  if (v?.length !== 1) throw new Error(`field ${field}: expected one value, got ${v?.length ?? 0}`);
  return v[0];
}
