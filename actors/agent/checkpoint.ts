/**
 * What the agent keeps on disk across its restarts. For now that is its
 * identity (`<work-dir>/meta/agent.json`), so that a restarted agent
 * reregisters with the same id. Recovering live executors after a restart
 * will extend {@link AgentCheckpointStore} with executors and tasks.
 */
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { isValidId } from "../../protocol/subjects.ts";

/** The agent's checkpointed identity. */
export interface AgentCheckpoint {
  agentId: string;
  hostname: string;
  /** When the id was given, milliseconds since the epoch. */
  registeredAt: number;
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
export function fileCheckpointStore(workDir: string): AgentCheckpointStore {
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
        if (!isValidId(value.agentId)) return undefined;
        return {
          agentId: value.agentId,
          hostname: typeof value.hostname === "string" ? value.hostname : "",
          registeredAt: typeof value.registeredAt === "number" ? value.registeredAt : 0,
        };
      } catch {
        return undefined;
      }
    },
    async saveAgent(checkpoint) {
      await mkdir(path.dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, `${JSON.stringify(checkpoint, null, 2)}\n`);
      await rename(tmp, file);
    },
    async clearAgent() {
      await rm(file, { force: true });
    },
  };
}
