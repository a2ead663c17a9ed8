/**
 * `agora run --group CMD [--group CMD ...]`: the commands as one task group
 * (Mesos `LAUNCH_GROUP`) in a default executor on one agent, each task with
 * `--resources`. States go to stderr; each task's output (the tail its
 * terminal update carries) to stdout, every line prefixed with the task's
 * name when there are several. The exit code is the first failing task's
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
  TaskState,
  type TaskStatus,
} from "../../protocol/common.ts";
import { AgoraError } from "../../protocol/errors.ts";
import { Resources } from "../../protocol/resources.ts";
import type { Subjects } from "../../protocol/subjects.ts";
import { ExitCode, printError } from "../command.ts";
import { onStopSignal } from "../runtime.ts";

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
        printError(`task group of ${tasks.length} submitted to agent ${offer.hostname}`);
        driver.suppress().catch(() => {});
      } catch (err) {
        launching = false;
        printError(`launch refused (${AgoraError.from(err).message}); waiting for another offer`);
      }
    }
    if (decline.length > 0) await driver.decline(decline, { refuseSeconds: 1 }).catch(() => {});
  };

  const onUpdate = (status: TaskStatus): void => {
    const i = ids.indexOf(status.taskId);
    if (i === -1 || ended.has(status.taskId)) return;
    const detail = status.message
      ? `: ${status.message}`
      : status.reason
        ? ` (${status.reason})`
        : "";
    printError(`task ${status.taskId} ${status.state}${detail}`);
    if (!isTerminalState(status.state)) return;
    ended.set(status.taskId, status);
    const output = status.data === undefined ? "" : new TextDecoder().decode(status.data);
    if (output !== "") {
      const lines = output.endsWith("\n") ? output.slice(0, -1).split("\n") : output.split("\n");
      process.stdout.write(
        `${lines.map((l) => (several ? `[${names[i]}] ${l}` : l)).join("\n")}\n`,
      );
    }
    if (ended.size < ids.length) return;
    // the first failing task in the order of its end, else 0
    const statuses = [...ended.values()];
    const failed = statuses.find(
      (s) => s.state !== TaskState.Finished && s.reason !== "REASON_TASK_GROUP_KILLED",
    );
    setImmediate(() => finish(failed === undefined ? 0 : exitCodeOf(failed)));
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
