import test from "ava";
import { Packr } from "msgpackr";
import { interned } from "../../../actors/master/intern.ts";
import {
  decode,
  decodeMessages,
  encode,
  encodeBatch,
  encodeBatchOf,
  encodeElement,
  versioned,
} from "../../../protocol/codec.ts";
import type { Offer } from "../../../protocol/common.ts";
import { FastPacker, Tail, withTails } from "../../../protocol/fast-pack.ts";
import type { Message } from "../../../protocol/registry.ts";
import { Resources } from "../../../protocol/resources.ts";
import { PROTOCOL_VERSION } from "../../../protocol/subjects.ts";

/** msgpackr with the codec's options: what the fast writer must match byte for byte. */
const reference = new Packr({
  useRecords: false,
  encodeUndefinedAsNil: true,
  variableMapSize: true,
  skipValues: [undefined],
} as ConstructorParameters<typeof Packr>[0]);
const expected = (msg: Message): Buffer => reference.pack({ v: PROTOCOL_VERSION, ...msg });
const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

const shared = interned.resources(
  Resources.parse("cpus:16;mem:65536;disk:102400;ports:[31000-32000]").toJSON(),
);
const reserved = Resources.parse(
  "cpus(web):2.5;mem(web,ops):1024;disk(db,ops)[pg:data]:1024;ports:[80-80,443-443,8000-8999]",
);

function offer(i: number, overrides: Partial<Offer> = {}): Offer {
  return {
    offerId: `m-O${i}`,
    frameworkId: "m-0001",
    agentId: `m-S${i}`,
    agentPrincipal: i % 2 === 0 ? undefined : "agents",
    hostname: `host-${i}.example.org`,
    role: i % 3 === 0 ? "*" : "web",
    resources: interned.json(i % 2 === 0 ? shared : reserved),
    attributes: interned.attributes({ rack: `r${i % 40}`, zone: i % 3, weight: 0.25 }),
    ...overrides,
  };
}

const cases: Array<[string, Message]> = [
  ["one offer", { type: "event.offers", offers: [offer(1)] }],
  ["no offers", { type: "event.offers", offers: [] }],
  [
    "many offers (array16), a gang",
    { type: "event.offers", offers: Array.from({ length: 300 }, (_, i) => offer(i)), gangId: "g1" },
  ],
  [
    "resources and attributes not frozen, ranges and reservations",
    {
      type: "event.offers",
      offers: [
        offer(3, {
          resources: reserved.toJSON(),
          attributes: { rack: "r1", floor: -3, big: 70_000, huge: 5_000_000_000, neg: -40_000 },
        }),
      ],
    },
  ],
  [
    "strings of every header size, UTF-8, a lone surrogate",
    {
      type: "event.offers",
      offers: [
        offer(4, { hostname: "ḧöst-ünïcode-😀.example.org" }),
        offer(5, { hostname: "h".repeat(31) }),
        offer(6, { hostname: "h".repeat(32) }),
        offer(7, { hostname: `${"é".repeat(20)}x` }),
        offer(8, { hostname: "ü".repeat(63) }),
        offer(9, { hostname: `${"a".repeat(70)}\ud800b` }),
        offer(10, { hostname: "\ud800".repeat(10) }),
        offer(11, { hostname: "x".repeat(300) }),
        offer(12, { hostname: "y".repeat(70_000) }),
      ],
    },
  ],
  [
    "a summary of offers sent",
    {
      type: "cluster.offersSent",
      timestamp: 1_700_000_000_123,
      offers: Array.from({ length: 20 }, (_, i) => {
        const o = offer(i);
        return {
          offerId: o.offerId,
          frameworkId: o.frameworkId,
          agentId: o.agentId,
          role: o.role,
          resources: o.resources,
        };
      }),
    },
  ],
  [
    "a timestamp with a fraction",
    {
      type: "cluster.offersSent",
      timestamp: 1.5,
      offers: [{ offerId: "o", frameworkId: "f", agentId: "a", role: "*", resources: {} }],
    },
  ],
];

for (const [name, msg] of cases) {
  test(`fast pack - ${name}: the bytes msgpackr writes, decoded by the normal decoder`, (t) => {
    const bytes = encode(msg);
    t.true(same(bytes, expected(msg)));
    t.true(same(encodeElement(msg), reference.pack(msg)), "as a batch element");
    t.true(same(versioned(encodeElement(msg)), bytes), "an element made a message");
    // (hostnames past the schema's length are refused by the decoder, as they should)
    if (!name.startsWith("strings")) t.deepEqual(decode(bytes), JSON.parse(JSON.stringify(msg)));
    // twice: the second time from the cached bytes of the frozen values
    t.true(same(encode(msg), bytes));
  });
}

test("fast pack - elements that declare their tails: the same bytes, the tails' bytes copied", (t) => {
  // an offer's agent part last, shared by the offers of one agent (as the master builds them)
  const tailOf = (i: number) => {
    const o = offer(i);
    return new Tail({
      agentId: o.agentId,
      agentPrincipal: o.agentPrincipal,
      hostname: o.hostname,
      resources: o.resources,
      attributes: o.attributes,
    });
  };
  const tails = [tailOf(1), tailOf(2), tailOf(3)];
  // a tail whose first entry is undefined (left out), and one with nothing in it
  const odd = new Tail({ agentPrincipal: undefined, hostname: "odd.example.org" });
  const none = new Tail({});
  const elements: object[] = [];
  const declared: Array<Tail | undefined> = [];
  for (let i = 0; i < 40; i++) {
    const tail =
      i % 10 === 9 ? undefined : i % 10 === 8 ? odd : i % 10 === 7 ? none : tails[i % 3]!;
    elements.push({
      offerId: `m-O${i}`,
      frameworkId: `fw-${i % 4}`,
      role: i % 2 === 0 ? "*" : "web",
      ...(tail?.entries ?? { agentId: `m-S${i}`, hostname: `h${i}` }),
    });
    declared.push(tail);
  }
  const msg = { type: "event.offers", offers: withTails(elements, declared) } as unknown as Message;
  const bytes = encode(msg);
  t.true(same(bytes, expected(msg)));
  t.true(same(encodeElement(msg), reference.pack(msg)), "as a batch element");
  t.true(same(encode(msg), bytes), "the second time, every tail from its cached bytes");
  // the same elements without the declaration
  const plain = { type: "event.offers", offers: [...elements] } as unknown as Message;
  t.true(same(encode(plain), bytes));
});

test("fast pack - maps of 16 entries and more, nested arrays, booleans and null", (t) => {
  const fast = new FastPacker((value) => reference.pack(value));
  const wide = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i * 1000]));
  const value = {
    wide,
    flags: [true, false, null, undefined, [1, [2, [3]]], -1, -32, -33, -129, -32_769, 127, 128],
    skipped: undefined,
    empty: {},
    frozen: Object.freeze([Object.freeze({ a: 1 })]),
  };
  t.true(same(fast.pack(value) as Uint8Array, reference.pack(value)));
  t.true(
    same(
      fast.pack(wide, PROTOCOL_VERSION) as Uint8Array,
      reference.pack({ v: PROTOCOL_VERSION, ...wide }),
    ),
  );
  t.true(same(versioned(reference.pack(wide)), reference.pack({ v: PROTOCOL_VERSION, ...wide })));
});

test("fast pack - messages written one after another into full buffers stay intact", (t) => {
  const fast = new FastPacker((value) => reference.pack(value));
  const wide = (i: number) =>
    Object.fromEntries(Array.from({ length: 17 }, (_, k) => [`k${k}`, i]));
  // about 380 KB each, so that buffers of 1 MiB fill in the middle of a message (and of a wide map)
  const medium = Array.from({ length: 8 }, (_, m) => ({
    items: Array.from({ length: 700 }, (_, i) => ({
      ...wide(i),
      host: `${m}-${i}`.padEnd(400, "x"),
    })),
  }));
  // larger than a buffer: the message grows into a larger one
  const large = { items: Array.from({ length: 900 }, (_, i) => `${i}`.padEnd(1500, "y")) };
  const values = [...medium.slice(0, 4), large, ...medium.slice(4)];
  const packed = values.map((value) => fast.pack(value, PROTOCOL_VERSION) as Uint8Array);
  // checked after all were written: a later message does not overwrite an earlier one
  values.forEach((value, i) => {
    t.true(
      same(packed[i] as Uint8Array, reference.pack({ v: PROTOCOL_VERSION, ...value })),
      `message ${i}`,
    );
  });
  t.true(Buffer.isBuffer(packed[0]));
});

test("fast pack - a value that is not plain data is left to msgpackr", (t) => {
  const fast = new FastPacker((value) => reference.pack(value));
  t.is(fast.pack({ bytes: new Uint8Array([1, 2]) }), undefined);
  t.is(fast.pack({ at: new Date(0) }), undefined);
  t.is(fast.pack({ n: 10n }), undefined);
  t.is(fast.pack({ frozen: Object.freeze(new Map()) }), undefined);
  // what was written before the refusal is not left in the next message
  t.true(same(fast.pack({ a: 1 }) as Uint8Array, reference.pack({ a: 1 })));
  // the codec then encodes it as before
  const msg = {
    type: "event.offers",
    offers: [offer(1)],
    extra: new Date(0),
  } as unknown as Message;
  t.true(same(encode(msg), expected(msg)));
});

test("fast pack - batch envelopes of encoded elements are the bytes of encodeBatch", (t) => {
  const messages: Message[] = [
    { type: "event.offers", offers: [offer(1), offer(2)] },
    { type: "scheduler.kill", taskId: "t1" },
    { type: "cluster.offersSent", timestamp: 5, offers: [] },
  ];
  const elements = messages.map(encodeElement);
  const envelope = encodeBatchOf(elements);
  t.true(same(envelope, reference.pack({ v: PROTOCOL_VERSION, type: "batch", messages })));
  t.true(same(encodeBatch(messages), envelope));
  t.true(
    same(
      encodeBatchOf(elements, 1, 3),
      reference.pack({ v: PROTOCOL_VERSION, type: "batch", messages: messages.slice(1) }),
    ),
  );
  const many = Array.from(
    { length: 20 },
    (_, i): Message => ({ type: "scheduler.kill", taskId: `${i}` }),
  );
  t.true(
    same(
      encodeBatchOf(many.map(encodeElement)),
      reference.pack({ v: PROTOCOL_VERSION, type: "batch", messages: many }),
    ),
  );
  t.is(decodeMessages(envelope).length, 3);
});
