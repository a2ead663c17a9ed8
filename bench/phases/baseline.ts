/**
 * Phase `baseline`: raw NATS pub/sub and request/reply with the encoded sizes
 * of representative agora messages, on the bench's own nats-server.
 */
import { encode } from "../../protocol/codec.ts";
import { measureNatsBaseline } from "../nats-baseline.ts";
import { representativePayloads } from "../payloads.ts";
import type { BenchPhase, Figure, PayloadBaseline } from "./types.ts";

/** Size of an `agent.register` of a 4-cpu agent, reported beside the baseline payloads. */
function registerMessageBytes(): number {
  return encode({
    type: "agent.register",
    hostname: "emu-12345",
    resources: { cpus: 4, mem: 4096 },
    attributes: {},
  }).byteLength;
}

export const baselinePhase: BenchPhase = {
  name: "baseline",
  description: "raw NATS pub/sub and request/reply with agora payload sizes",
  async run(ctx) {
    const payloads: PayloadBaseline[] = [];
    const figures: Figure[] = [];
    for (const p of representativePayloads()) {
      ctx.log(`baseline: ${p.name} (${p.data.byteLength} B)`);
      const result = await measureNatsBaseline({
        url: ctx.url,
        payload: p.data,
        durationMs: ctx.options.baselineDurationMs,
        peer: ctx.options.baselinePeer,
      });
      payloads.push({ name: p.name, description: p.description, ...result });
      const label = `${p.name} ${p.data.byteLength} B`;
      figures.push(
        { name: `pub/sub (${label})`, value: result.pubsub?.msgPerSec, unit: "msg/s" },
        {
          name: `request/reply 1 in flight (${label})`,
          value: result.request?.roundTripsPerSec,
          unit: "rt/s",
        },
        {
          name: `request/reply p50 (${label})`,
          value: result.request?.p50Ms,
          unit: "ms",
        },
        {
          name: `request/reply ${result.requestInFlight?.inFlight ?? 100} in flight (${label})`,
          value: result.requestInFlight?.roundTripsPerSec,
          unit: "rt/s",
        },
      );
    }
    const reference = payloads[0];
    if (reference === undefined) throw new Error("no baseline payload");
    ctx.baseline = { payloads, reference };
    return {
      status: "ok",
      figures,
      details: { payloads, agentRegisterBytes: registerMessageBytes() },
    };
  },
};
