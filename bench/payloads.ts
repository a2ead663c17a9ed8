/**
 * Representative agora messages, encoded with the real codec, whose sizes the
 * NATS baseline is measured with: what crosses the wire most often in the
 * task flow (an offer, a status update, a launch).
 */
import { randomUUID } from "node:crypto";
import { encode } from "../protocol/codec.ts";
import { TaskSource, TaskState } from "../protocol/common.ts";
import type { Message } from "../protocol/registry.ts";

/** One representative message and its encoded bytes. */
export interface Payload {
  /** Short label used in tables and JSON, e.g. `agent.update`. */
  name: string;
  /** What the message holds. */
  description: string;
  message: Message;
  data: Uint8Array;
}

const AGENT_ID = "20251124-160000-a1b2c3-S12345";
const FRAMEWORK_ID = "20251124-160000-a1b2c3-F0001";

/** `event.offers` with one offer of a 4-cpu agent, as the master sends it. */
function offersMessage(): Message {
  return {
    type: "event.offers",
    offers: [
      {
        offerId: "20251124-160000-a1b2c3-O123456",
        frameworkId: FRAMEWORK_ID,
        agentId: AGENT_ID,
        hostname: "emu-12345",
        role: "*",
        resources: { cpus: 4, mem: 4096, disk: 10240, ports: [[31000, 32000]] },
        attributes: { rack: "r12", zone: "a" },
      },
    ],
  };
}

/** `agent.update` of a task that is running, as an agent sends it. */
function updateMessage(): Message {
  return {
    type: "agent.update",
    frameworkId: FRAMEWORK_ID,
    status: {
      taskId: "task-000123456",
      state: TaskState.Running,
      agentId: AGENT_ID,
      executorId: "task-000123456",
      source: TaskSource.Executor,
      uuid: randomUUID(),
      timestamp: Date.now(),
    },
  };
}

/** `agent.runTask` with one command task, as the master sends it. */
function runTaskMessage(): Message {
  return {
    type: "agent.runTask",
    framework: { frameworkId: FRAMEWORK_ID, name: "bench", role: "*" },
    tasks: [
      {
        taskId: "task-000123456",
        name: "bench task 123456",
        agentId: AGENT_ID,
        resources: { cpus: 0.1, mem: 32 },
        command: { value: "true" },
      },
    ],
  };
}

/** The payloads the baseline is measured with, smallest first. */
export function representativePayloads(): Payload[] {
  const payloads: Payload[] = [
    {
      name: "agent.update",
      description: "agent.update, one TaskStatus (RUNNING) with a uuid",
      message: updateMessage(),
      data: new Uint8Array(),
    },
    {
      name: "agent.runTask",
      description: "agent.runTask, one command task",
      message: runTaskMessage(),
      data: new Uint8Array(),
    },
    {
      name: "event.offers",
      description: "event.offers, one offer (cpus, mem, disk, ports, 2 attributes)",
      message: offersMessage(),
      data: new Uint8Array(),
    },
  ];
  for (const p of payloads) p.data = encode(p.message);
  return payloads.sort((a, b) => a.data.byteLength - b.data.byteLength);
}
