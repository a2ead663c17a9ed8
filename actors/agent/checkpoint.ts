/**
 * The agent's identity on disk (`<work-dir>/meta/agent.json`): its id, so
 * that a restarted agent reregisters with the same id, and the resources and
 * attributes it registered with, which `--reconfiguration-policy` compares a
 * restart's against. Written atomically (tmp + fsync + rename + fsync of the
 * directory). What the agent runs is checkpointed beside it (state-store.ts).
 */
import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import type { Attributes, ResourcesJson } from "../../protocol/common.ts";
import { isValidId } from "../../protocol/subjects.ts";
import { writeFileAtomic } from "./atomic-file.ts";

/** The agent's checkpointed identity. */
export interface AgentCheckpoint {
  agentId: string;
  hostname: string;
  /** When the id was given, milliseconds since the epoch. */
  registeredAt: number;
  /** The total resources registered with (absent in checkpoints of older agents). */
  resources?: ResourcesJson;
  attributes?: Attributes;
}

/** Where the agent checkpoints its state. */
export interface AgentCheckpointStore {
  /** The checkpointed identity, or undefined when there is none (or it is unreadable). */
  loadAgent(): Promise<AgentCheckpoint | undefined>;
  /** Writes the identity atomically. */
  saveAgent(checkpoint: AgentCheckpoint): Promise<void>;
  /** Forgets the identity: the next start registers as a new agent. */
  clearAgent(): Promise<void>;
}

/** The path of the agent's identity checkpoint in a work directory. */
export function agentCheckpointPath(workDir: string): string {
  return path.join(workDir, "meta", "agent.json");
}

/** A checkpoint store in the work directory. */
export function fileCheckpointStore(
  workDir: string,
  onCorrupt?: (file: string, reason: string) => void,
): AgentCheckpointStore {
  const file = agentCheckpointPath(workDir);
  return {
    async loadAgent() {
      let text: string;
      try {
        text = await readFile(file, "utf8");
      } catch {
        return undefined;
      }
      try {
        const value = JSON.parse(text) as Partial<AgentCheckpoint>;
        if (!isValidId(value.agentId)) {
          onCorrupt?.(file, "no valid agentId");
          return undefined;
        }
        const isObject = (v: unknown): v is Record<string, never> =>
          v !== null && typeof v === "object" && !Array.isArray(v);
        return {
          agentId: value.agentId,
          hostname: typeof value.hostname === "string" ? value.hostname : "",
          registeredAt: typeof value.registeredAt === "number" ? value.registeredAt : 0,
          ...(isObject(value.resources) ? { resources: value.resources } : {}),
          ...(isObject(value.attributes) ? { attributes: value.attributes } : {}),
        };
      } catch (err) {
        onCorrupt?.(file, err instanceof Error ? err.message : String(err));
        return undefined;
      }
    },
    async saveAgent(checkpoint) {
      await writeFileAtomic(file, `${JSON.stringify(checkpoint, null, 2)}\n`);
    },
    async clearAgent() {
      await rm(file, { force: true });
    },
  };
}
