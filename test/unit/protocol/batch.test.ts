import test, { type ExecutionContext } from "ava";
import { pack } from "msgpackr";
import {
  decode,
  decodeAs,
  decodeMessages,
  encode,
  encodeBatch,
  MAX_BATCH_MESSAGES,
  MAX_MESSAGE_BYTES,
} from "../../../protocol/codec.ts";
import { ErrorCode, ProtocolError } from "../../../protocol/errors.ts";
import type { Message } from "../../../protocol/registry.ts";
import { sampleStatus, samples } from "./samples.ts";

function throwsCode(t: ExecutionContext, fn: () => unknown, code: ErrorCode): void {
  const err = t.throws(fn, { instanceOf: ProtocolError });
  t.is(err?.code, code, err?.message);
}

const update: Message = { type: "agent.update", frameworkId: "fw-1", status: sampleStatus };

test("batch - round trip: the elements come back validated, in order, without v", (t) => {
  const messages: Message[] = [
    update,
    samples["agent.heartbeat"],
    samples["scheduler.acknowledge"],
    samples["cluster.taskUpdated"],
  ];
  const decoded = decodeMessages(encodeBatch(messages));
  t.is(decoded.length, messages.length);
  for (const [i, msg] of decoded.entries()) {
    t.false(msg instanceof ProtocolError, String(msg));
    t.false("v" in (msg as Message));
    t.is((msg as Message).type, messages[i]!.type);
  }
  t.deepEqual((decoded[0] as MessageOfUpdate).status.uuid, sampleStatus.uuid);
});

type MessageOfUpdate = Extract<Message, { type: "agent.update" }>;

test("batch - the envelope is plain msgpack: {v, type: batch, messages: [...]} with bare elements", (t) => {
  const bytes = encodeBatch([update, samples["agent.heartbeat"]]);
  const same = pack({ v: 1, type: "batch", messages: [update, { type: "agent.heartbeat" }] });
  t.deepEqual(decodeMessages(same), decodeMessages(bytes));
  // a foreign sender's batch: elements packed by any msgpack library
  const foreign = decodeMessages(
    pack({ v: 1, type: "batch", messages: [{ type: "scheduler.revive" }, { type: "ok" }] }),
  );
  t.deepEqual(foreign, [{ type: "scheduler.revive" }, { type: "ok" }]);
  // encode() of a batch message is the same envelope
  t.deepEqual(
    decodeMessages(encode({ type: "batch", messages: [update, samples["agent.heartbeat"]] })),
    decodeMessages(bytes),
  );
});

test("batch - a plain message decodes to itself", (t) => {
  t.deepEqual(decodeMessages(encode(update)), [decode(encode(update))]);
  throwsCode(
    t,
    () => decodeMessages(pack({ v: 1, type: "agent.update" })),
    ErrorCode.InvalidMessage,
  );
});

test("batch - one bad element is reported in its place, the others go through", (t) => {
  const decoded = decodeMessages(
    pack({
      v: 1,
      type: "batch",
      messages: [
        { type: "agent.heartbeat" },
        { type: "agent.update", frameworkId: 7 },
        { type: "no.such.type" },
        "not a map",
        { noType: true },
        { type: "batch", messages: [{ type: "ok" }] },
        { v: 2, type: "ok" },
        { v: 1, type: "ok" },
        { type: "scheduler.revive" },
      ],
    }),
  );
  const codes = decoded.map((m) => (m instanceof ProtocolError ? m.code : m.type));
  t.deepEqual(codes, [
    "agent.heartbeat",
    ErrorCode.InvalidMessage,
    ErrorCode.UnknownType,
    ErrorCode.InvalidMessage,
    ErrorCode.InvalidMessage,
    ErrorCode.InvalidMessage,
    ErrorCode.UnsupportedVersion,
    "ok",
    "scheduler.revive",
  ]);
  t.regex((decoded[5] as ProtocolError).message, /is a batch/);
  t.false("v" in (decoded[7] as Message));
});

test("batch - an invalid envelope is rejected whole", (t) => {
  const cases: Array<[Uint8Array, ErrorCode]> = [
    [pack({ v: 1, type: "batch" }), ErrorCode.InvalidMessage],
    [pack({ v: 1, type: "batch", messages: {} }), ErrorCode.InvalidMessage],
    [pack({ v: 1, type: "batch", messages: [] }), ErrorCode.InvalidMessage],
    [pack({ type: "batch", messages: [{ type: "ok" }] }), ErrorCode.UnsupportedVersion],
    [pack({ v: 2, type: "batch", messages: [{ type: "ok" }] }), ErrorCode.UnsupportedVersion],
    [new Uint8Array([0x93, 1, 2, 3]), ErrorCode.BadMessage],
  ];
  for (const [bytes, code] of cases) throwsCode(t, () => decodeMessages(bytes), code);
});

test("batch - over the limits: more than MAX_BATCH_MESSAGES elements, more than 1 MiB", (t) => {
  const heartbeat: Message = { type: "agent.heartbeat" };
  t.is(decodeMessages(encodeBatch(Array(MAX_BATCH_MESSAGES).fill(heartbeat))).length, 1024);
  throwsCode(
    t,
    () => decodeMessages(encodeBatch(Array(MAX_BATCH_MESSAGES + 1).fill(heartbeat))),
    ErrorCode.InvalidMessage,
  );
  const big: Message = {
    type: "agent.message",
    frameworkId: "f",
    executorId: "e",
    data: new Uint8Array(300_000),
  };
  const bytes = encodeBatch([big, big, big, big]);
  t.true(bytes.byteLength > MAX_MESSAGE_BYTES);
  throwsCode(t, () => decodeMessages(bytes), ErrorCode.MessageTooLarge);
});

test("batch - a batch where one message is expected, or as a request, is refused", (t) => {
  const bytes = encodeBatch([samples.ok, samples.ok]);
  throwsCode(t, () => decodeAs(bytes, ["ok"]), ErrorCode.UnknownType);
  throwsCode(t, () => decodeMessages(bytes, false), ErrorCode.InvalidMessage);
  t.is(decodeMessages(encode(samples.ok), false).length, 1);
});
