/**
 * Mutations of valid HTTP/1.1 requests, for fuzzing the balancer's front: byte flips, inserted
 * separators and control characters, conflicting framing headers, folding, oversized fields and
 * truncation. Pure and deterministic: the same seed gives the same cases.
 */

/** A small seeded PRNG (mulberry32): enough spread for fuzzing, reproducible from one number. */
export class Random {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, bound). */
  below(bound: number): number {
    return Math.floor(this.next() * bound);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }
}

/** Valid requests the mutations start from: every framing the front knows, and a pipelined pair. */
export const TEMPLATES: readonly string[] = [
  'GET /fuzz/a?x=1 HTTP/1.1\r\nHost: lb.test\r\nx-request-id: 42\r\nAccept: */*\r\n\r\n',
  'POST /fuzz/upload HTTP/1.1\r\nHost: lb.test\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello',
  'POST /fuzz/chunked HTTP/1.1\r\nHost: lb.test\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
  'GET /fuzz/old HTTP/1.0\r\nHost: lb.test\r\n\r\n',
  'DELETE /fuzz/item HTTP/1.1\r\nHost: lb.test\r\nConnection: keep-alive, x-hop\r\nx-hop: 1\r\n\r\n',
  'GET /fuzz/one HTTP/1.1\r\nHost: lb.test\r\n\r\nGET /fuzz/two HTTP/1.1\r\nHost: lb.test\r\n\r\n',
  'POST /fuzz/first HTTP/1.1\r\nHost: lb.test\r\nContent-Length: 2\r\n\r\nhiGET /fuzz/second HTTP/1.1\r\nHost: lb.test\r\n\r\n',
];

/** Header lines that make framing ambiguous or a head invalid, as request smuggling attempts do. */
export const HOSTILE_LINES: readonly string[] = [
  'Content-Length: 7',
  'Content-Length: 0',
  'Content-Length: 5, 6',
  'Content-Length: -1',
  'Content-Length: +5',
  'Content-Length: 0x5',
  'Content-Length:  5 ',
  'Content-Length: 99999999999999999999',
  'Transfer-Encoding: chunked',
  'Transfer-Encoding: gzip, chunked',
  'Transfer-Encoding: chunked, gzip',
  'Transfer-Encoding: identity',
  'Transfer-Encoding:\tchunked',
  'Transfer-Encoding : chunked',
  'Transfer-Encoding: xchunked',
  ' Transfer-Encoding: chunked',
  'Content-Length : 3',
  'X-Folded: a\r\n b',
  'X-Nul: a\u0000b',
  'X-Ctl: a\u0001b',
  'X-Del: a\u007fb',
  'Host: other.test',
  'Connection: close',
  'Connection: content-length',
  'Connection: transfer-encoding',
  'Expect: 100-continue',
  'Expect: something',
  'Upgrade: websocket',
  ': no-name',
  'No-Colon',
  'Bad Name: x',
  'X-Latin1: caf\u00e9',
];

/** Bytes that break lines, fields and tokens when inserted anywhere. */
const INSERTS: readonly string[] = [
  '\r',
  '\n',
  '\u0000',
  ' ',
  ':',
  '\t',
  '\r\n',
  '\r\n ',
  '\r\n\r\n',
  ',',
  ';',
];

/** Chunk-size lines for a chunked body, valid and not. */
const CHUNK_SIZES: readonly string[] = [
  '5',
  '05',
  '5;ext=1',
  '5 ',
  ' 5',
  '-5',
  '0x5',
  '4',
  '6',
  'fffffffffffffffff',
  'g',
  '',
];

export type Mutation = (bytes: string, random: Random) => string;

/** Offsets just after each CRLF of the head, where a new header line can go. */
function lineStarts(bytes: string): number[] {
  const headEnd = bytes.indexOf('\r\n\r\n');
  const limit = headEnd < 0 ? bytes.length : headEnd;
  const starts: number[] = [];
  for (let i = bytes.indexOf('\r\n'); i >= 0 && i <= limit; i = bytes.indexOf('\r\n', i + 2))
    starts.push(i + 2);
  return starts;
}

function insertAt(bytes: string, at: number, text: string): string {
  return bytes.slice(0, at) + text + bytes.slice(at);
}

export const MUTATIONS: Readonly<Record<string, Mutation>> = {
  flipByte(bytes, random) {
    if (bytes.length === 0) return bytes;
    const at = random.below(bytes.length);
    return bytes.slice(0, at) + String.fromCharCode(random.below(256)) + bytes.slice(at + 1);
  },
  flipBit(bytes, random) {
    if (bytes.length === 0) return bytes;
    const at = random.below(bytes.length);
    return (
      bytes.slice(0, at) +
      String.fromCharCode(bytes.charCodeAt(at) ^ (1 << random.below(8))) +
      bytes.slice(at + 1)
    );
  },
  insertSeparator(bytes, random) {
    return insertAt(bytes, random.below(bytes.length + 1), random.pick(INSERTS));
  },
  deleteRange(bytes, random) {
    const at = random.below(bytes.length + 1);
    return bytes.slice(0, at) + bytes.slice(at + 1 + random.below(8));
  },
  hostileHeader(bytes, random) {
    const starts = lineStarts(bytes);
    if (starts.length === 0) return bytes;
    return insertAt(bytes, random.pick(starts), `${random.pick(HOSTILE_LINES)}\r\n`);
  },
  duplicateLine(bytes, random) {
    const starts = lineStarts(bytes);
    if (starts.length < 2) return bytes;
    const index = random.below(starts.length - 1);
    const line = bytes.slice(starts[index], starts[index + 1]);
    return insertAt(bytes, random.pick(starts), line);
  },
  foldLine(bytes, random) {
    const starts = lineStarts(bytes);
    if (starts.length < 2) return bytes;
    // Turns the CRLF before a header line into obsolete line folding.
    const at = random.pick(starts.slice(1));
    return insertAt(bytes, at, random.pick([' ', '\t']));
  },
  oversizedField(bytes, random) {
    const starts = lineStarts(bytes);
    if (starts.length === 0) return bytes;
    const size = random.pick([1_000, 8_000, 16_000, 17_000, 40_000]);
    const line = random.below(2) === 0 ? `X-Big: ${'a'.repeat(size)}` : `X-${'n'.repeat(size)}: v`;
    return insertAt(bytes, random.pick(starts), `${line}\r\n`);
  },
  manyFields(bytes, random) {
    const starts = lineStarts(bytes);
    if (starts.length === 0) return bytes;
    const count = random.pick([100, 127, 129, 500]);
    return insertAt(bytes, random.pick(starts), 'X-Many: 1\r\n'.repeat(count));
  },
  truncate(bytes, random) {
    return bytes.slice(0, random.below(bytes.length + 1));
  },
  truncateBody(bytes, random) {
    // Cuts inside a body: the balancer may have passed the head on, and must not leave it hanging.
    const body = bytes.indexOf('\r\n\r\n');
    if (body < 0 || body + 5 >= bytes.length) return bytes;
    return bytes.slice(0, body + 5 + random.below(bytes.length - body - 5));
  },
  chunkSize(bytes, random) {
    const body = bytes.indexOf('\r\n\r\n');
    if (body < 0 || !/transfer-encoding/i.test(bytes.slice(0, body))) return bytes;
    const sizeEnd = bytes.indexOf('\r\n', body + 4);
    if (sizeEnd < 0) return bytes;
    return bytes.slice(0, body + 4) + random.pick(CHUNK_SIZES) + bytes.slice(sizeEnd);
  },
  requestLine(bytes, random) {
    const lineEnd = bytes.indexOf('\r\n');
    if (lineEnd < 0) return bytes;
    const line = bytes.slice(0, lineEnd);
    const variants = [
      line.replace('HTTP/1.1', 'HTTP/1.2'),
      line.replace('HTTP/1.1', 'HTTP/2.0'),
      line.replace('HTTP/1.1', 'http/1.1'),
      line.replace(' /', ' http://other.test/'),
      line.replace(' /', ' //'),
      line.replace(' ', '  '),
      line.replace(/^\S+/, 'G\u0000ET'),
      line.replace(/^\S+/, 'CONNECT'),
      `${line} `,
    ];
    return random.pick(variants) + bytes.slice(lineEnd);
  },
};

const NAMES = Object.keys(MUTATIONS);

export interface FuzzCase {
  readonly index: number;
  readonly template: number;
  readonly mutations: readonly string[];
  /** The bytes to send, one char per byte (latin1). */
  readonly bytes: string;
}

/** Case `index` of the run seeded with `seed`: a template with one to three mutations applied. */
export function fuzzCase(seed: number, index: number): FuzzCase {
  const random = new Random((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
  const template = random.below(TEMPLATES.length);
  let bytes = TEMPLATES[template]!;
  const mutations: string[] = [];
  const count = 1 + random.below(3);
  for (let i = 0; i < count; i++) {
    const name = random.pick(NAMES);
    mutations.push(name);
    bytes = MUTATIONS[name]!(bytes, random);
  }
  return { index, template, mutations, bytes };
}
