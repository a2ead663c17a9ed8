/**
 * Test receivers that subscribe to a subject directly (fake masters, agents,
 * recorders) see `batch` envelopes like every receiver: this unpacks them.
 */
import { decodeMessages } from "../../protocol/codec.ts";
import { ProtocolError } from "../../protocol/errors.ts";
import type { Message } from "../../protocol/registry.ts";

/** The messages of a payload, a batch's elements in order; an invalid one throws its error. */
export function unbatch(data: Uint8Array): Message[] {
  return decodeMessages(data).map((msg) => {
    if (msg instanceof ProtocolError) throw msg;
    return msg;
  });
}
