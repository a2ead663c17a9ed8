/**
 * A MessagePack writer for the master's largest messages (`event.offers`,
 * `cluster.offersSent`: up to 1,000 offers each, 50,000 per allocation cycle
 * at scale). It writes the bytes the codec's msgpackr writes — plain maps with
 * the smallest header, properties whose value is undefined left out, integers
 * in the smallest form, other numbers as float64, strings as UTF-8 — and is
 * faster on offers because a frozen value (the interned resources and
 * attributes that many offers share, `actors/master/intern.ts`) is encoded
 * once and then copied. A frozen value is taken as never changing, nested
 * values included.
 *
 * Messages are written one after the other into a large buffer and returned
 * as views of it, as msgpackr does: a message is not copied out. A full buffer
 * is not reused (the views returned stay valid); the next one is new.
 *
 * Tails. Elements of an array that end with the same entries (an offer's
 * agent: its id, principal, hostname, resources and attributes, the same in
 * every offer of that agent) can say so with {@link withTails}: element `i`
 * ends with the entries of `tails[i]` ({@link Tail}: a frozen plain object),
 * in the same order and with the same values. The writer writes the
 * element's entries up to the tail's first key and then copies the tail's
 * entries, encoded the first time and kept in the tail. The bytes are the
 * same as without the declaration; a declaration that is not true gives
 * wrong bytes.
 *
 * Only plain data: a value of another kind (bytes, a Map, a bigint, a class
 * instance) makes {@link FastPacker.pack} return undefined, and the caller
 * encodes the message with msgpackr instead.
 */

/** The encoder of a frozen value, the first time it is seen (msgpackr, in the codec). */
export type PackValue = (value: unknown) => Uint8Array;

/** Thrown inside the writer on a value it does not write; never escapes {@link FastPacker.pack}. */
const UNSUPPORTED = Symbol("unsupported");

const utf8 = new TextEncoder();

/** Most frozen values whose bytes are kept; past it the cache starts over. */
const MAX_CACHED = 16_384;

/** Bytes of a new buffer for messages (a message on the wire is at most 1 MiB). */
const BUFFER_BYTES = 1024 * 1024;

/** Bytes of a slab of tails' bytes. */
const SLAB_BYTES = 256 * 1024;

/**
 * Where the bytes of tails are kept: slabs of {@link SLAB_BYTES}, each tail
 * a range of one (tens of thousands of tails as small arrays of their own
 * would each be a buffer for the garbage collector to track).
 */
let slab = new Uint8Array(SLAB_BYTES);
let slabUsed = 0;

/**
 * The last entries that elements of an array share (see the module
 * comment): a frozen plain object, and its entries' bytes once written.
 */
export class Tail<T extends object = object> {
  readonly entries: Readonly<T>;
  /** The key the entries start with (undefined: none). */
  readonly first: string | undefined;
  /** Where the writer put the entries' bytes (undefined until then), and how many entries. */
  slab: Uint8Array | undefined;
  offset = 0;
  length = 0;
  count = 0;

  constructor(entries: T) {
    this.entries = Object.freeze(entries);
    this.first = firstKey(entries);
  }
}

/** The tails declared for arrays ({@link withTails}). */
const TAILS = new WeakMap<readonly object[], readonly (Tail | undefined)[]>();

/**
 * Declares that element `i` of `elements` ends with the entries of
 * `tails[i]` (undefined: no tail); see the module comment. Returns `elements`.
 */
export function withTails<T extends readonly object[]>(
  elements: T,
  tails: readonly (Tail | undefined)[],
): T {
  TAILS.set(elements, tails);
  return elements;
}

/** Writes plain values as MessagePack; see the module comment. One per codec. */
export class FastPacker {
  readonly #packValue: PackValue;
  #buf = Buffer.allocUnsafe(BUFFER_BYTES);
  #view = new DataView(this.#buf.buffer, this.#buf.byteOffset, this.#buf.length);
  /** Where the message being written starts in {@link #buf}: the bytes before it are returned messages'. */
  #start = 0;
  #pos = 0;
  #frozen = new WeakMap<object, Uint8Array>();
  #cached = 0;

  constructor(packValue: PackValue) {
    this.#packValue = packValue;
  }

  /**
   * The bytes of the map `fields`, with `v: version` as its first entry when
   * `version` is given (what msgpackr writes for `{v: version, ...fields}`),
   * or undefined when a value is not plain data.
   */
  pack(fields: object, version?: number): Uint8Array | undefined {
    this.#pos = this.#start;
    try {
      this.#map(fields as Record<string, unknown>, version);
    } catch (err) {
      if (err === UNSUPPORTED) return undefined;
      throw err;
    }
    // a Buffer, as msgpackr gives (a receiver in the same process decodes bytes fields as Buffers)
    const bytes = this.#buf.subarray(this.#start, this.#pos);
    this.#start = this.#pos;
    return bytes;
  }

  /**
   * Makes room for `bytes` more. When the buffer is full, the message written
   * so far moves to the start of a new one: a position kept across writes is
   * kept relative to {@link #start}.
   */
  #room(bytes: number): void {
    if (this.#pos + bytes <= this.#buf.length) return;
    const written = this.#pos - this.#start;
    let size = BUFFER_BYTES;
    while (size < written + bytes) size *= 2;
    const next = Buffer.allocUnsafe(size);
    next.set(this.#buf.subarray(this.#start, this.#pos));
    this.#buf = next;
    this.#view = new DataView(next.buffer, next.byteOffset, next.length);
    this.#start = 0;
    this.#pos = written;
  }

  #value(value: unknown): void {
    switch (typeof value) {
      case "string":
        this.#string(value);
        return;
      case "number":
        this.#number(value);
        return;
      case "boolean":
        this.#room(1);
        this.#buf[this.#pos++] = value ? 0xc3 : 0xc2;
        return;
      case "undefined":
        // an array element (a property that is undefined is left out): nil, as the codec's encodeUndefinedAsNil
        this.#room(1);
        this.#buf[this.#pos++] = 0xc0;
        return;
      case "object": {
        if (value === null) {
          this.#room(1);
          this.#buf[this.#pos++] = 0xc0;
          return;
        }
        // the cache first: a lookup is cheaper than Object.isFrozen, and a frozen value is mostly cached
        const bytes = this.#frozen.get(value);
        if (bytes !== undefined) {
          this.#copy(bytes);
        } else if (Object.isFrozen(value)) {
          this.#frozenValue(value);
        } else if (Array.isArray(value) && value.constructor === Array) {
          this.#array(value);
        } else if (value.constructor === Object) {
          this.#map(value as Record<string, unknown>, undefined);
        } else {
          throw UNSUPPORTED;
        }
        return;
      }
      default:
        throw UNSUPPORTED;
    }
  }

  /** A frozen value not cached: encoded by msgpackr, its bytes kept. */
  #frozenValue(value: object): void {
    const plain = Array.isArray(value) ? value.constructor === Array : value.constructor === Object;
    if (!plain) throw UNSUPPORTED;
    const bytes = new Uint8Array(this.#packValue(value)); // a copy: msgpackr's bytes share its buffer
    if (this.#cached >= MAX_CACHED) {
      this.#frozen = new WeakMap();
      this.#cached = 0;
    }
    this.#frozen.set(value, bytes);
    this.#cached++;
    this.#copy(bytes);
  }

  #copy(bytes: Uint8Array): void {
    this.#room(bytes.length);
    this.#buf.set(bytes, this.#pos);
    this.#pos += bytes.length;
  }

  #header(length: number, fix: number, code16: number): void {
    this.#room(5);
    const buf = this.#buf;
    if (length < 0x10) {
      buf[this.#pos++] = fix | length;
    } else if (length < 0x10000) {
      buf[this.#pos++] = code16;
      buf[this.#pos++] = length >> 8;
      buf[this.#pos++] = length & 0xff;
    } else {
      buf[this.#pos++] = code16 + 1;
      this.#view.setUint32(this.#pos, length);
      this.#pos += 4;
    }
  }

  #array(value: readonly unknown[]): void {
    this.#header(value.length, 0x90, 0xdc);
    const tails = TAILS.get(value as readonly object[]);
    if (tails === undefined) {
      for (let i = 0; i < value.length; i++) this.#value(value[i]);
      return;
    }
    for (let i = 0; i < value.length; i++) {
      const element = value[i];
      const tail = tails[i];
      if (
        tail === undefined ||
        typeof element !== "object" ||
        element === null ||
        element.constructor !== Object ||
        Object.isFrozen(element)
      ) {
        this.#value(element);
      } else {
        this.#map(element as Record<string, unknown>, undefined, tail);
      }
    }
  }

  /**
   * One pass: the header is written for a small map (under 16 entries, the
   * usual case) and moved when the map turns out larger. For-in on a plain
   * object (constructor Object) gives its own properties, as msgpackr's check.
   */
  #map(value: Record<string, unknown>, version: number | undefined, tail?: Tail): void {
    this.#room(1);
    // relative to the message's start, which moves when the buffer is replaced
    const offset = this.#pos++ - this.#start;
    let length = 0;
    if (version !== undefined) {
      this.#string("v");
      this.#number(version);
      length = 1;
    }
    const first = tail?.first;
    for (const key in value) {
      if (key === first) break;
      const field = value[key];
      if (field === undefined) continue;
      this.#string(key);
      this.#value(field);
      length++;
    }
    if (first !== undefined) {
      const from = tail!.slab;
      if (from === undefined) {
        this.#tail(tail!);
      } else {
        // a loop: cheaper than a view and `set` for the hundred bytes of a tail
        const n = tail!.length;
        this.#room(n);
        const buf = this.#buf;
        let p = this.#pos;
        for (let i = tail!.offset, end = i + n; i < end; i++) buf[p++] = from[i]!;
        this.#pos = p;
      }
      length += tail!.count;
    }
    if (length < 0x10) {
      this.#buf[this.#start + offset] = 0x80 | length;
      return;
    }
    const extra = length < 0x10000 ? 2 : 4;
    this.#room(extra);
    const buf = this.#buf;
    const at = this.#start + offset;
    buf.copyWithin(at + 1 + extra, at + 1, this.#pos);
    this.#pos += extra;
    if (extra === 2) {
      buf[at] = 0xde;
      buf[at + 1] = length >> 8;
      buf[at + 2] = length & 0xff;
    } else {
      buf[at] = 0xdf;
      this.#view.setUint32(at + 1, length);
    }
  }

  /** Writes a tail's entries the first time and keeps their bytes (and count) in it. */
  #tail(tail: Tail): void {
    const from = this.#pos - this.#start;
    const entries = tail.entries as Record<string, unknown>;
    let count = 0;
    for (const key in entries) {
      const field = entries[key];
      if (field === undefined) continue;
      this.#string(key);
      this.#value(field);
      count++;
    }
    // a copy: the buffer's bytes are the message's
    const length = this.#pos - this.#start - from;
    if (slabUsed + length > slab.length) {
      slab = new Uint8Array(Math.max(SLAB_BYTES, length));
      slabUsed = 0;
    }
    slab.set(this.#buf.subarray(this.#start + from, this.#pos), slabUsed);
    tail.slab = slab;
    tail.offset = slabUsed;
    tail.length = length;
    tail.count = count;
    slabUsed += length;
  }

  /** As msgpackr: the header sized for the string's length, moved when its UTF-8 is longer. */
  #string(value: string): void {
    const n = value.length;
    const headerSize = n < 0x20 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
    this.#room(headerSize + n * 3);
    const buf = this.#buf;
    const start = this.#pos + headerSize;
    // as msgpackr: longer strings through the platform's encoder (a lone surrogate becomes U+FFFD)
    const at =
      n >= 0x40
        ? start + utf8.encodeInto(value, buf.subarray(start)).written
        : writeShortUtf8(buf, start, value);
    const length = at - start;
    const size = length < 0x20 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : 5;
    if (size !== headerSize) buf.copyWithin(this.#pos + size, start, at);
    let p = this.#pos;
    if (size === 1) {
      buf[p++] = 0xa0 | length;
    } else if (size === 2) {
      buf[p++] = 0xd9;
      buf[p++] = length;
    } else if (size === 3) {
      buf[p++] = 0xda;
      buf[p++] = length >> 8;
      buf[p++] = length & 0xff;
    } else {
      buf[p++] = 0xdb;
      this.#view.setUint32(p, length);
      p += 4;
    }
    this.#pos = p + length;
  }

  #number(value: number): void {
    this.#room(9);
    const buf = this.#buf;
    if (value >>> 0 === value) {
      if (value < 0x80) {
        buf[this.#pos++] = value;
      } else if (value < 0x100) {
        buf[this.#pos++] = 0xcc;
        buf[this.#pos++] = value;
      } else if (value < 0x10000) {
        buf[this.#pos++] = 0xcd;
        buf[this.#pos++] = value >> 8;
        buf[this.#pos++] = value & 0xff;
      } else {
        buf[this.#pos++] = 0xce;
        this.#view.setUint32(this.#pos, value);
        this.#pos += 4;
      }
    } else if (value >> 0 === value) {
      if (value >= -0x20) {
        buf[this.#pos++] = 0x100 + value;
      } else if (value >= -0x80) {
        buf[this.#pos++] = 0xd0;
        buf[this.#pos++] = value + 0x100;
      } else if (value >= -0x8000) {
        buf[this.#pos++] = 0xd1;
        this.#view.setInt16(this.#pos, value);
        this.#pos += 2;
      } else {
        buf[this.#pos++] = 0xd2;
        this.#view.setInt32(this.#pos, value);
        this.#pos += 4;
      }
    } else {
      buf[this.#pos++] = 0xcb;
      this.#view.setFloat64(this.#pos, value);
      this.#pos += 8;
    }
  }
}

/** Writes a short string's UTF-8 (as msgpackr, a lone surrogate as its 3 bytes); returns the end. */
function writeShortUtf8(buf: Uint8Array, start: number, value: string): number {
  let at = start;
  for (let i = 0; i < value.length; i++) {
    let c = value.charCodeAt(i);
    if (c < 0x80) {
      buf[at++] = c;
    } else if (c < 0x800) {
      buf[at++] = (c >> 6) | 0xc0;
      buf[at++] = (c & 0x3f) | 0x80;
    } else if ((c & 0xfc00) === 0xd800 && (value.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      c = 0x10000 + ((c & 0x03ff) << 10) + (value.charCodeAt(i + 1) & 0x03ff);
      i++;
      buf[at++] = (c >> 18) | 0xf0;
      buf[at++] = ((c >> 12) & 0x3f) | 0x80;
      buf[at++] = ((c >> 6) & 0x3f) | 0x80;
      buf[at++] = (c & 0x3f) | 0x80;
    } else {
      buf[at++] = (c >> 12) | 0xe0;
      buf[at++] = ((c >> 6) & 0x3f) | 0x80;
      buf[at++] = (c & 0x3f) | 0x80;
    }
  }
  return at;
}

/** The first own key of a plain object, or undefined when it has none. */
function firstKey(value: object): string | undefined {
  for (const key in value) return key;
  return undefined;
}
