/**
 * A reply too large for one NATS message, in parts: the msgpack encoding of
 * the whole reply cut into `operator.statePart` messages, and put together
 * again on the other side (protocol/README.md, `operator.getState`).
 */
import { decodeAs, encode, MAX_MESSAGE_BYTES } from "./codec.ts";
import { ErrorCode, ProtocolError } from "./errors.ts";
import { MAX_STATE_PARTS, STATE_PART_BYTES } from "./operator.ts";
import type { MessageOf } from "./registry.ts";

type State = MessageOf<"operator.state">;
type Part = MessageOf<"operator.statePart">;

/**
 * The state reply as it goes out: itself when its encoding fits in one
 * message, else its parts.
 * @throws ProtocolError MESSAGE_TOO_LARGE past {@link MAX_STATE_PARTS} parts
 */
export function stateReply(state: State): State | Part[] {
  const data = encode(state);
  if (data.byteLength <= MAX_MESSAGE_BYTES) return state;
  const count = Math.ceil(data.byteLength / STATE_PART_BYTES);
  if (count > MAX_STATE_PARTS) {
    throw new ProtocolError(
      ErrorCode.MessageTooLarge,
      `the state is ${data.byteLength} bytes, more than ${MAX_STATE_PARTS} parts`,
    );
  }
  const parts: Part[] = [];
  for (let index = 0; index < count; index++) {
    const begin = index * STATE_PART_BYTES;
    parts.push({
      type: "operator.statePart",
      index,
      count,
      data: data.subarray(begin, begin + STATE_PART_BYTES),
    });
  }
  return parts;
}

/** Collects the parts of one state, in any order. */
export class StateAssembler {
  #parts: Uint8Array[] = [];
  #count: number | undefined;
  #received = 0;

  /**
   * Adds a part; returns the state once every part is in.
   * @throws ProtocolError INVALID_MESSAGE for a part that does not belong (count, index, repeat)
   */
  add(part: Part): State | undefined {
    this.#count ??= part.count;
    if (part.count !== this.#count || part.index >= this.#count) {
      throw new ProtocolError(
        ErrorCode.InvalidMessage,
        `state part ${part.index} of ${part.count} does not match the other parts (${this.#count})`,
      );
    }
    if (this.#parts[part.index] !== undefined) {
      throw new ProtocolError(ErrorCode.InvalidMessage, `state part ${part.index} came twice`);
    }
    this.#parts[part.index] = part.data;
    this.#received += 1;
    if (this.#received < this.#count) return undefined;
    const size = this.#parts.reduce((n, p) => n + p.byteLength, 0);
    const data = new Uint8Array(size);
    let at = 0;
    for (const p of this.#parts) {
      data.set(p, at);
      at += p.byteLength;
    }
    return decodeAs(data, ["operator.state"], size);
  }
}
