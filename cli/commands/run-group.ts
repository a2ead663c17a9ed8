/**
 * `agora run --group CMD [--group CMD ...]`: the commands as one task group
 * (Mesos `LAUNCH_GROUP`) in a default executor on one agent, each task with
 * `--resources`. States go to stderr; each task's stdout and stderr are
 * followed live from its own sandbox (`files.read`) to this process's, every
 * line prefixed with the task's name when there are several. The exit code is the first failing task's
 * (137 with a message on an OOM kill, as `agora run`), else 0. When one task
 * fails the others are killed (the group's default failure policy).
 */
import { randomUUID } from "node:crypto";
import type { NatsConnection } from "@nats-io/nats-core";
import { SchedulerDriver } from "../../actors/scheduler/driver.ts";
import { commandTask, fitOffer } from "../../actors/scheduler/offers.ts";
import type { Logger } from "../../infra/logger.ts";
import {
  isTerminalState,
  type Offer,
  type TaskInfo,
  TaskReason,
  TaskState,
  type TaskStatus,
} from "../../protocol/common.ts";
import { AgoraError } from "../../protocol/errors.ts";
import { Resources } from "../../protocol/resources.ts";
import type { Subjects } from "../../protocol/subjects.ts";
import { ExitCode, printError } from "../command.ts";
import { onStopSignal } from "../runtime.ts";
import { OutputFollower, type OutputSink, streamSink } from "./run-output.ts";

/** The default executor's own allowance (Mesos's DEFAULT_EXECUTOR_CPUS / _MEM). */
const GROUP_EXECUTOR_RESOURCES = { cpus: 0.1, mem: 32 };

/** What `agora run --group` runs. */
export interface GroupRunSpec {
  name: string;
  role: string;
  /** Resources of each task. */
  need: Resources;
  commands: readonly string[];
  environment: Record<string, string> | undefined;
}

/** The exit code of a task's terminal status (as `agora run`). */
export type ExitCodeOf = (status: TaskStatus) => number;

/** Runs the group to its end; resolves with the exit code. */
export async function runGroup(
  nc: NatsConnection,
  subjects: Subjects,
  logger: Logger,
  spec: GroupRunSpec,
  exitCodeOf: ExitCodeOf,
): Promise<number> {
  const driver = new SchedulerDriver({
    nc,
    subjects,
    logger,
    framework: { name: spec.name, roles: [spec.role] },
  });
  const suffix = randomUUID().slice(0, 8);
  const names = spec.commands.map((_, i) => `${spec.name}-${i + 1}`);
  const ids = names.map((n) => `${n.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 60)}-${suffix}`);
  let total = Resources.fromJSON(GROUP_EXECUTOR_RESOURCES);
  for (let i = 0; i < spec.commands.length; i++) total = total.add(spec.need);
  const ended = new Map<string, TaskStatus>();
  let launching = false;
  let finish: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => {
    finish = resolve;
  });
  const several = spec.commands.length > 1;

  const onOffers = async (offers: Offer[]): Promise<void> => {
    const decline: string[] = [];
    for (const offer of offers) {
      if (launching || fitOffer(total, offer) === undefined) {
        decline.push(offer.offerId);
        continue;
      }
      launching = true;
      const tasks: TaskInfo[] = spec.commands.map((command, i) =>
        commandTask({
          taskId: ids[i]!,
          name: names[i]!,
          agentId: offer.agentId,
          resources: spec.need,
          command,
          environment: spec.environment,
        }),
      );
      try {
        await driver.acceptGroups(
          [offer.offerId],
          [
            {
              executor: {
                executorId: `agora-run-${suffix}`,
                type: "DEFAULT",
                resources: GROUP_EXECUTOR_RESOURCES,
              },
              taskGroup: { tasks },
            },
          ],
        );
        hostname = offer.hostname;
        agentId = offer.agentId;
        agentPrincipal = offer.agentPrincipal;
        printError(`task group of ${tasks.length} submitted to agent ${offer.hostname}`);
        driver.suppress().catch(() => {});
      } catch (err) {
        launching = false;
        printError(`launch refused (${AgoraError.from(err).message}); waiting for another offer`);
      }
    }
    if (decline.length > 0) await driver.decline(decline, { refuseSeconds: 1 }).catch(() => {});
  };

  const followers = new Map<string, { follower: OutputFollower; flush(): Promise<void> }>();
  let agentId: string | undefined;
  let agentPrincipal: string | undefined;
  let hostname: string | undefined;
  const outputs: Promise<unknown>[] = [];

  /** Follows the task's sandbox output live, each line prefixed by its name when there are several. */
  const follow = (i: number): void => {
    const taskId = ids[i]!;
    if (followers.has(taskId) || agentId === undefined) return;
    const out = several ? prefixSink(process.stdout, `[${names[i]}] `) : undefined;
    const err = several ? prefixSink(process.stderr, `[${names[i]}] `) : undefined;
    const follower = new OutputFollower({
      nc,
      subjects,
      frameworkId: driver.frameworkId,
      principal: driver.principal,
      taskId,
      agentId,
      agentPrincipal,
      hostname,
      ...(out === undefined || err === undefined ? {} : { sinks: { stdout: out, stderr: err } }),
    });
    follower.start();
    followers.set(taskId, {
      follower,
      flush: async () => {
        await out?.flush();
        await err?.flush();
      },
    });
  };

  const onUpdate = (status: TaskStatus): void => {
    const i = ids.indexOf(status.taskId);
    if (i === -1 || ended.has(status.taskId)) return;
    if (status.agentId !== undefined) agentId = status.agentId;
    const detail = status.message
      ? `: ${status.message}`
      : status.reason
        ? ` (${status.reason})`
        : "";
    printError(`task ${status.taskId} ${status.state}${detail}`);
    if (status.state === TaskState.Running) follow(i);
    if (!isTerminalState(status.state)) return;
    ended.set(status.taskId, status);
    const ran =
      status.state === TaskState.Finished ||
      status.state === TaskState.Failed ||
      status.state === TaskState.Killed;
    if (ran) follow(i);
    const f = followers.get(status.taskId);
    if (f !== undefined) {
      outputs.push(
        f.follower
          .finish(status.data)
          .then(() => f.flush())
          .catch((e: unknown) => printError(`output: ${AgoraError.from(e).message}`)),
      );
    }
    if (ended.size < ids.length) return;
    // the first task that failed on its own (not killed for its group), else 0
    const failed = [...ended.values()].find(
      (x) => x.state !== TaskState.Finished && x.reason !== TaskReason.TaskGroupKilled,
    );
    void Promise.all(outputs).then(() =>
      setImmediate(() => finish(failed === undefined ? 0 : exitCodeOf(failed))),
    );
  };

  driver.on("offers", ({ offers }) => void onOffers(offers));
  driver.on("update", ({ status }) => onUpdate(status));
  const removeSignals = onStopSignal(() => {
    for (const id of ids) driver.kill(id).catch(() => {});
    setTimeout(() => finish(ExitCode.Interrupted), 10_000).unref();
  });
  try {
    const starting = driver.start();
    starting.catch(() => {});
    await Promise.race([starting, done]);
    const code = await done;
    if (driver.state === "subscribed") {
      await driver.teardown("agora run finished").catch(() => {});
    }
    return code;
  } finally {
    removeSignals();
    await driver.stop();
  }
}

/** A sink that writes whole lines, each with `prefix`; `flush` writes what is left of the last one. */
function prefixSink(
  stream: NodeJS.WritableStream,
  prefix: string,
): OutputSink & { flush(): Promise<void> } {
  const inner = streamSink(stream);
  const decoder = new TextDecoder();
  let partial = "";
  const encoder = new TextEncoder();
  return {
    write: async (data) => {
      const text = partial + decoder.decode(data, { stream: true });
      const lines = text.split("\n");
      partial = lines.pop() ?? "";
      if (lines.length > 0) {
        await inner.write(encoder.encode(lines.map((l) => `${prefix}${l}\n`).join("")));
      }
    },
    flush: async () => {
      const rest = partial + decoder.decode();
      partial = "";
      if (rest !== "") await inner.write(encoder.encode(`${prefix}${rest}\n`));
    },
  };
}
