/**
 * Phase `codec`: CPU cost of agora's codec per message, without NATS: encode,
 * MessagePack unpack alone, and the full `decode` (unpack + schema
 * validation), for each representative message. It tells which share of a
 * message's cost is agora's own.
 */
import { Unpackr } from "msgpackr";
import { decode, encode } from "../../protocol/codec.ts";
import { type Payload, representativePayloads } from "../payloads.ts";
import { round } from "../stats.ts";
import type { BenchPhase, Figure } from "./types.ts";

/** Per-message costs of one payload, in microseconds. */
export interface CodecCost {
  name: string;
  bytes: number;
  encodeUs: number;
  unpackUs: number;
  decodeUs: number;
}

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

/**
 * µs per call of `fn`: the median of 7 rounds of at least `minMs / 7` each,
 * after a warm-up, so that one GC pause or JIT tier-up does not skew it.
 */
function timePerCall(fn: () => void, minMs: number): number {
  for (let i = 0; i < 5000; i++) fn();
  const rounds: number[] = [];
  for (let r = 0; r < 7; r++) {
    let calls = 0;
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < minMs / 7) {
      for (let i = 0; i < 500; i++) fn();
      calls += 500;
      elapsed = performance.now() - start;
    }
    rounds.push((elapsed * 1000) / calls);
  }
  return rounds.sort((a, b) => a - b)[3]!;
}

/** Measures the codec on one payload. */
function measureCodec(payload: Payload, minMs: number): CodecCost {
  const { message, data } = payload;
  let sink = 0;
  const encodeUs = timePerCall(() => {
    sink += encode(message).byteLength;
  }, minMs);
  const unpackUs = timePerCall(() => {
    sink += unpackr.unpack(data) === undefined ? 0 : 1;
  }, minMs);
  const decodeUs = timePerCall(() => {
    sink += decode(data).type.length;
  }, minMs);
  if (sink < 0) throw new Error("unreachable");
  return {
    name: payload.name,
    bytes: data.byteLength,
    encodeUs: round(encodeUs, 2),
    unpackUs: round(unpackUs, 2),
    decodeUs: round(decodeUs, 2),
  };
}

export const codecPhase: BenchPhase = {
  name: "codec",
  description: "CPU per message of encode and decode (unpack + validation), no NATS",
  async run(ctx) {
    const minMs = ctx.options.quick ? 100 : 300;
    const costs = representativePayloads().map((p) => measureCodec(p, minMs));
    const figures: Figure[] = costs.flatMap((c) => [
      { name: `encode ${c.name} (${c.bytes} B)`, value: c.encodeUs, unit: "µs" },
      { name: `decode ${c.name} (${c.bytes} B)`, value: c.decodeUs, unit: "µs" },
      { name: `  of which unpack ${c.name}`, value: c.unpackUs, unit: "µs" },
    ]);
    return { status: "ok", figures, details: { costs } };
  },
};
