import test from "ava";
import { encode } from "../../../protocol/codec.ts";
import { ErrorCode } from "../../../protocol/errors.ts";
import { STATE_PART_BYTES } from "../../../protocol/operator.ts";
import { StateAssembler, stateReply } from "../../../protocol/parts.ts";
import type { MessageOf } from "../../../protocol/registry.ts";
import { samples } from "./samples.ts";

type State = MessageOf<"operator.state">;

/** The sample state with `agents` agents with long hostnames. */
function state(agents: number): State {
  const sample = samples["operator.state"];
  const agent = sample.state.agents[0]!;
  return {
    ...sample,
    state: {
      ...sample.state,
      agents: Array.from({ length: agents }, (_, i) => ({
        ...agent,
        id: `agent-${i}`,
        hostname: `host-${i}-${"x".repeat(200)}`,
      })),
    },
  };
}

test("parts - a state that fits in one message goes as itself", (t) => {
  const small = state(10);
  t.is(stateReply(small), small);
});

test("parts - a large state is cut into parts that put together give it back, in any order", (t) => {
  const big = state(8000);
  const parts = stateReply(big);
  if (!Array.isArray(parts)) return t.fail("expected parts");
  t.true(parts.length >= 2);
  t.true(parts.every((p) => p.data.byteLength <= STATE_PART_BYTES && p.count === parts.length));
  t.is(
    parts.reduce((n, p) => n + p.data.byteLength, 0),
    encode(big).byteLength,
  );
  const assembler = new StateAssembler();
  const reversed = [...parts].reverse();
  for (const part of reversed.slice(0, -1)) t.is(assembler.add(part), undefined);
  const whole = assembler.add(reversed.at(-1)!);
  t.deepEqual(whole, big);
});

test("parts - a part twice or of another count is refused", (t) => {
  const parts = stateReply(state(8000));
  if (!Array.isArray(parts)) return t.fail("expected parts");
  const assembler = new StateAssembler();
  assembler.add(parts[0]!);
  t.throws(() => assembler.add(parts[0]!), { code: ErrorCode.InvalidMessage });
  t.throws(() => assembler.add({ ...parts[1]!, count: parts.length + 1 }), {
    code: ErrorCode.InvalidMessage,
  });
});
