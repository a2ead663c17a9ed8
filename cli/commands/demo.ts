/**
 * `agora demo`: the seed's walk-through of the Mesos architecture, narrated
 * from the events of a real cluster: an embedded nats-server (unless
 * `--nats`), a master with a short allocation interval, one agent `agent-1`
 * with `cpus:4;mem:4096`, and two frameworks driven by SchedulerDrivers. The
 * demo runs under a subject prefix of its own, so it never disturbs a cluster
 * on the same NATS server, and leaves nothing running.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { SchedulerDriver } from "../../actors/scheduler/driver.ts";
import { commandTask } from "../../actors/scheduler/offers.ts";
import { isEvent, recordEvents } from "../../actors/scheduler/recorder.ts";
import type { OptionSpecs } from "../../infra/config.ts";
import { closeGracefully, connect } from "../../infra/connect.ts";
import type { Logger } from "../../infra/logger.ts";
import { type NatsServer, startNatsServer } from "../../infra/nats-server.ts";
import type { ResourcesJson } from "../../protocol/common.ts";
import { TaskState } from "../../protocol/common.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import { Resources } from "../../protocol/resources.ts";
import { Subjects } from "../../protocol/subjects.ts";
import { isClusterEvent, watchClusterEvents } from "../cluster-events.ts";
import { type Command, ExitCode, parseCommand, printError } from "../command.ts";
import { startLocalCluster } from "../local-cluster.ts";
import { cliLogger, onStopSignal } from "../runtime.ts";

/** The allocation interval of the demo's master: short, so that the story moves on. */
const DEMO_ALLOCATION_INTERVAL_MS = 200;
/** What the demo's tasks run: long enough to be seen running next to framework 2's offer. */
const DEMO_TASK_COMMAND = "sleep 2";

const DEMO_OPTIONS = {
  nats: {
    kind: "string",
    flag: "nats",
    placeholder: "URL",
    help: "use this NATS server instead of an embedded one (the demo uses a prefix of its own)",
  },
  stepTimeout: {
    kind: "duration",
    flag: "step-timeout",
    default: 30_000,
    placeholder: "DURATION",
    help: "how long to wait for each step's event",
  },
} as const satisfies OptionSpecs;

const HELP = {
  usage: "agora demo [options]",
  summary:
    "Replays the Mesos architecture walk-through on a real, self-contained cluster and narrates\n" +
    "it from the live events: one agent with 4 CPUs and 4 GB, two frameworks, resource offers.",
};

/** `⟨2 CPUs, 1 GB⟩`, plus the other resources of the set in parentheses. */
export function describeResources(json: ResourcesJson): string {
  const r = Resources.fromJSON(json);
  const cpus = r.scalar("cpus");
  const mem = r.scalar("mem");
  const memText = mem % 1024 === 0 ? `${mem / 1024} GB` : `${mem} MB`;
  const main = `⟨${cpus} CPU${cpus === 1 ? "" : "s"}, ${memText}⟩`;
  const rest = r.names().filter((n) => n !== "cpus" && n !== "mem");
  if (rest.length === 0) return main;
  const others = rest.map((name) => {
    const ranges = r.ranges(name);
    return ranges.length > 0
      ? `${name} ${ranges.map(([b, e]) => `${b}-${e}`).join(",")}`
      : `${name} ${r.scalar(name)}${name === "disk" ? " MB" : ""}`;
  });
  return `${main} (and ${others.join(", ")})`;
}

export const demoCommand: Command = {
  name: "demo",
  summary: "the Mesos walk-through, narrated from a live cluster's events",
  async run(argv) {
    const parsed = parseCommand(DEMO_OPTIONS, argv, HELP);
    if (parsed === undefined) return 0;
    const { values } = parsed;
    const logger = cliLogger("error");
    let interrupt: (err: Error) => void = () => {};
    const interrupted = new Promise<never>((_, reject) => {
      interrupt = reject;
    });
    interrupted.catch(() => {});
    const removeSignals = onStopSignal(() =>
      interrupt(new AgoraError("INTERRUPTED", "interrupted")),
    );
    try {
      await narrate(values.nats, values.stepTimeout, logger, interrupted);
      return 0;
    } catch (err) {
      if (err instanceof AgoraError && err.code === "INTERRUPTED") {
        printError("demo interrupted");
        return ExitCode.Interrupted;
      }
      throw err;
    } finally {
      removeSignals();
    }
  },
};

async function narrate(
  natsUrl: string | undefined,
  timeoutMs: number,
  logger: Logger,
  interrupted: Promise<never>,
): Promise<void> {
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const step = <T>(p: Promise<T>): Promise<T> => Promise.race([p, interrupted]);
  const cleanup: Array<() => Promise<unknown>> = [];
  const subjects = new Subjects(`agora-demo-${randomUUID().slice(0, 8)}`);
  try {
    let server: NatsServer | undefined;
    if (natsUrl === undefined) {
      server = await step(startNatsServer());
      const s = server;
      cleanup.push(() => s.stop());
    }
    const url = server?.url ?? natsUrl!;
    say("agora demo: the Mesos architecture walk-through, narrated from live events");
    say(`  (NATS at ${url}; a master, agent-1 and two frameworks run in this process)`);
    say("");

    const observer = await step(connect({ servers: url, name: "demo-observer", logger }));
    cleanup.push(() => closeGracefully(observer));
    const watch = await step(watchClusterEvents(observer, subjects, logger));
    cleanup.push(async () => watch.stop());
    const events = watch.recorder;

    const workDir = await mkdtemp(path.join(os.tmpdir(), "agora-demo-"));
    cleanup.push(() => rm(workDir, { recursive: true, force: true }));
    const cluster = await step(
      startLocalCluster({
        natsUrl: url,
        subjects,
        logger,
        agents: [{ hostname: "agent-1", workDir, resources: "cpus:4;mem:4096" }],
        master: { allocationInterval: DEMO_ALLOCATION_INTERVAL_MS },
        name: "agora demo",
      }),
    );
    cleanup.push(() => cluster.stop());
    const wait = { timeoutMs };

    // 1. The agent reports its free resources.
    const added = await step(
      events.waitFor(isClusterEvent("cluster.agentAdded"), { ...wait, what: "agent.added" }),
    );
    say(
      ` 1. agent-1 reports to the master that it has ${describeResources(added.resources)} free.` +
        `   [event agent.added, agent ${added.agentId}]`,
    );

    // 2-3. Framework 1 subscribes; the policy gives it everything; the master offers it.
    const fw1 = new SchedulerDriver({
      servers: url,
      subjects,
      logger,
      framework: { name: "framework-1" },
    });
    cleanup.push(() => fw1.teardown("demo over").catch(() => fw1.stop()));
    const fw1Events = recordEvents(fw1);
    await step(fw1.start());
    const sent = await step(
      events.waitFor(
        isClusterEvent("cluster.offersSent", (e) =>
          e.offers.some((o) => o.frameworkId === fw1.frameworkId),
        ),
        { ...wait, what: "offer.sent to framework-1" },
      ),
    );
    const sentOffer = sent.offers.find((o) => o.frameworkId === fw1.frameworkId);
    say(
      ` 2. framework-1 subscribes; the allocation module (DRF) decides that framework-1 should be` +
        ` offered all available resources.   [event offer.sent, offer ${sentOffer?.offerId}]`,
    );
    const firstOffers = await step(
      fw1Events.waitFor(isEvent("offers"), { ...wait, what: "offers" }),
    );
    const offer1 = firstOffers.offers[0]!;
    say(
      ` 3. the master sends framework-1 a resource offer describing what is available on` +
        ` ${offer1.hostname}: ${describeResources(offer1.resources)}.   [event.offers, offer ${offer1.offerId}]`,
    );

    const fw2 = new SchedulerDriver({
      servers: url,
      subjects,
      logger,
      framework: { name: "framework-2" },
    });
    cleanup.push(() => fw2.teardown("demo over").catch(() => fw2.stop()));
    const fw2Events = recordEvents(fw2);
    await step(fw2.start());
    say(
      "    framework-2 subscribes as well; everything is offered to framework-1, so it gets nothing yet.",
    );

    // 4. Framework 1 launches two tasks on the offer.
    const tasks = [
      commandTask({
        taskId: "task-1",
        name: "task-1",
        agentId: offer1.agentId,
        resources: { cpus: 2, mem: 1024 },
        command: DEMO_TASK_COMMAND,
      }),
      commandTask({
        taskId: "task-2",
        name: "task-2",
        agentId: offer1.agentId,
        resources: { cpus: 1, mem: 2048 },
        command: DEMO_TASK_COMMAND,
      }),
    ];
    await step(fw1.accept([offer1.offerId], tasks));
    say(
      " 4. framework-1's scheduler replies with two tasks to run on agent-1: task-1 ⟨2 CPUs, 1 GB⟩" +
        ` and task-2 ⟨1 CPU, 2 GB⟩ (each runs \`${DEMO_TASK_COMMAND}\`).   [scheduler.accept]`,
    );

    // 5. The master launches them; the rest is offered to framework 2.
    const state = (taskId: string, s: TaskState) =>
      isEvent("update", (e) => e.status.taskId === taskId && e.status.state === s);
    for (const t of tasks) {
      await step(
        fw1Events.waitFor(state(t.taskId, TaskState.Running), {
          ...wait,
          what: `${t.taskId} running`,
        }),
      );
    }
    say(
      " 5. the master sends the tasks to agent-1, which starts an executor for each; they launch" +
        " the tasks: task-1 TASK_RUNNING, task-2 TASK_RUNNING.   [event.update]",
    );
    const leftover = await step(
      fw2Events.waitFor(isEvent("offers"), { ...wait, what: "framework-2's offer" }),
    );
    const offer2 = leftover.offers[0]!;
    say(
      `    ${describeResources(offer2.resources)} is still unallocated, so the allocation module` +
        ` offers it to framework-2.   [event.offers, offer ${offer2.offerId}]`,
    );

    // 6-7. Tasks finish; their resources are offered again (in one offer, or one per task).
    const before = { fw1: fw1Events.mark(), fw2: fw2Events.mark() };
    for (const t of tasks) {
      await step(
        fw1Events.waitFor(state(t.taskId, TaskState.Finished), {
          ...wait,
          what: `${t.taskId} finished`,
        }),
      );
    }
    say(
      " 6. the tasks finish: task-1 TASK_FINISHED, task-2 TASK_FINISHED; their resources return" +
        " to the pool.",
    );
    const offersSince = (events: typeof fw1Events, from: number, name: string) =>
      events
        .filter(isEvent("offers"), from)
        .flatMap((e) => e.offers.map((offer) => ({ name, offer })));
    const reoffered = () => [
      ...offersSince(fw1Events, before.fw1, "framework-1"),
      ...offersSince(fw2Events, before.fw2, "framework-2"),
    ];
    const enough = () => {
      const sum = reoffered().reduce(
        (acc, { offer }) => acc.add(Resources.fromJSON(offer.resources)),
        Resources.empty(),
      );
      return sum.scalar("cpus") >= 3 && sum.scalar("mem") >= 3072;
    };
    await step(
      Promise.race([
        fw1Events.waitFor(() => enough(), { ...wait, from: before.fw1, what: "offers again" }),
        fw2Events.waitFor(() => enough(), { ...wait, from: before.fw2, what: "offers again" }),
      ]),
    );
    const again = reoffered()
      .map(({ name, offer }) => `${name} is offered ${describeResources(offer.resources)}`)
      .join("; ");
    say(` 7. the resource offer process repeats: ${again}.   [event.offers]`);
    say("");
    say("done: the frameworks are torn down and the cluster is stopped.");
  } catch (err) {
    if (err instanceof AgoraError && err.code === ErrorCode.Timeout) {
      throw new AgoraError(ErrorCode.Timeout, `demo stuck: ${err.message}`);
    }
    throw err;
  } finally {
    for (const fn of cleanup.reverse()) {
      try {
        await fn();
      } catch (err) {
        logger.warn({ err }, "demo cleanup step failed");
      }
    }
  }
}
