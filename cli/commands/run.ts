/**
 * `agora run [options] -- COMMAND...`: runs one command as a task, the
 * counterpart of `mesos-execute`. It subscribes as a framework, waits for an
 * offer that fits `--resources` (declining the others with a short filter),
 * launches the task through the built-in command executor, prints the task's
 * states on stderr (`agora: task <id> TASK_RUNNING`), then tears the framework
 * down and exits with the task's exit code: TASK_FINISHED → 0, TASK_FAILED →
 * the exit code (or 128 + signal, or 1), TASK_KILLED → 128 + signal (or 1),
 * any other terminal state → 1; a task OOM-killed at its container's memory
 * limit (`REASON_CONTAINER_LIMITATION_MEMORY`) → 137 (128 + SIGKILL, as a
 * shell reports it), its state line naming the limit. Ctrl-C kills the task, waits for its end and
 * exits 130; a second Ctrl-C exits at once.
 *
 * Lost cluster: when NATS or the master is unreachable for longer than
 * `--unreachable-timeout` (default 45 s, the time a Mesos master waits for a
 * silent framework), `agora run` says so on one line and exits 1 (the task
 * may still run). Ctrl-C while the cluster is unreachable says that the task
 * cannot be killed and exits 130 at once.
 *
 * Output: the task's stdout and stderr go to the files `stdout` and `stderr`
 * of its sandbox on the agent. Once the agent has the task, `agora run` says
 * where the sandbox is and follows both files with `files.read`
 * (run-output.ts), writing them whole to its own stdout and stderr as they
 * come; after the terminal update it reads them to their end. Only when the
 * agent cannot be reached does it print the terminal update's output tail
 * instead, saying so.
 *
 * Health: `--health-cmd CMD` gives the task a COMMAND health check (Mesos's
 * `HealthCheck`, run by the command executor in the sandbox), tuned by
 * `--health-delay` (delaySeconds), `--health-interval` (intervalSeconds),
 * `--health-timeout` (timeoutSeconds), `--health-retries`
 * (consecutiveFailures) and `--health-start-period` (gracePeriodSeconds);
 * each change of the task's health is printed (`agora: task <id> healthy`,
 * `agora: task <id> unhealthy: <message>`), and after the retries the task
 * is killed.
 *
 * `--uri URI` (repeatable; run-uris.ts) has the agent fetch files into the
 * sandbox before the command runs: `agora run --uri http://h/x.tar.gz -- ./x.sh`.
 *
 * One argument after `--` is a shell command line (`agora run -- 'echo a | wc'`);
 * several are quoted for the shell word by word (`agora run -- sh -c "exit 3"`).
 */
import { randomUUID } from "node:crypto";
import os from "node:os";
import type { NatsConnection } from "@nats-io/nats-core";
import { SchedulerDriver } from "../../actors/scheduler/driver.ts";
import { commandTask, fitOffer, offerResources } from "../../actors/scheduler/offers.ts";
import { COMMON_OPTIONS, type OptionSpecs, type Resolved } from "../../infra/config.ts";
import { closeGracefully } from "../../infra/connect.ts";
import { redactServers } from "../../infra/credentials.ts";
import { DEFAULT_RUN_UNREACHABLE_TIMEOUT_MS } from "../../infra/defaults.ts";
import { formatDuration } from "../../infra/durations.ts";
import type { Logger } from "../../infra/logger.ts";
import {
  isTerminalState,
  isValidRole,
  type Offer,
  TaskReason,
  TaskState,
  type TaskStatus,
} from "../../protocol/common.ts";
import { AgoraError } from "../../protocol/errors.ts";
import { type HealthCheck, HealthCheckType, parseHealthCheck } from "../../protocol/health.ts";
import { Resources } from "../../protocol/resources.ts";
import type { Subjects } from "../../protocol/subjects.ts";
import type { CommandUri } from "../../protocol/uris.ts";
import { type Command, ExitCode, parseCommand, printError, usageError } from "../command.ts";
import { cliLogger, connectCli, onStopSignal, subjectsFor } from "../runtime.ts";
import { runGroup } from "./run-group.ts";
import { OutputFollower } from "./run-output.ts";
import { RUN_URI_OPTIONS, runUris } from "./run-uris.ts";

/** Resources of a task when `--resources` is not given (mesos-execute's default). */
const DEFAULT_RUN_RESOURCES = "cpus:1;mem:128";
/** Offers that do not fit are declined for this long, so that they come back soon. */
const DECLINE_UNFIT_SECONDS = 1;
/** After the launch, offers are declined for this long (the framework also suppresses). */
const DECLINE_AFTER_LAUNCH_SECONDS = 60;
/** While nothing is launched, a hint of what `agora run` waits for is printed this often. */
const HINT_AFTER_MS = 5000;
/** After Ctrl-C, how long to wait for the killed task's terminal update beyond its grace period. */
const KILL_WAIT_MARGIN_MS = 10_000;
/** At the end of a run, how long the teardown waits for a driver that is resubscribing. */
const TEARDOWN_WAIT_MS = 5000;

const RUN_OPTIONS = {
  ...COMMON_OPTIONS,
  name: {
    kind: "string",
    flag: "name",
    default: "agora-run",
    placeholder: "NAME",
    help: "name of the framework and of the task",
  },
  resources: {
    kind: "string",
    flag: "resources",
    default: DEFAULT_RUN_RESOURCES,
    placeholder: "RESOURCES",
    help: "resources of the task, e.g. 'cpus:0.5;mem:64'",
  },
  role: {
    kind: "string",
    flag: "role",
    default: "*",
    placeholder: "ROLE",
    help: "role the framework receives offers for",
  },
  env: {
    kind: "strings",
    flag: "env",
    placeholder: "K=V",
    help: "environment variable of the task (repeatable)",
  },
  killAfter: {
    kind: "duration",
    flag: "kill-after",
    placeholder: "DURATION",
    help: "kill the task when it has been running this long",
  },
  killGracePeriod: {
    kind: "duration",
    flag: "kill-grace-period",
    placeholder: "DURATION",
    help: "time between SIGTERM and SIGKILL when the task is killed (default: the agent's)",
  },
  healthCmd: {
    kind: "string",
    flag: "health-cmd",
    placeholder: "CMD",
    help: "shell command checking the task's health in its sandbox (exit 0 = healthy)",
  },
  healthDelay: {
    kind: "duration",
    flag: "health-delay",
    placeholder: "DURATION",
    help: "time from the task's start to the first health check (Mesos delay, default 15s)",
  },
  healthInterval: {
    kind: "duration",
    flag: "health-interval",
    placeholder: "DURATION",
    help: "time between health checks (default 10s)",
  },
  healthTimeout: {
    kind: "duration",
    flag: "health-timeout",
    placeholder: "DURATION",
    help: "time a health check may take before it counts as failed (default 20s)",
  },
  healthRetries: {
    kind: "integer",
    flag: "health-retries",
    placeholder: "N",
    help: "failed health checks in a row after which the task is killed (default 3)",
  },
  healthStartPeriod: {
    kind: "duration",
    flag: "health-start-period",
    placeholder: "DURATION",
    help: "time from the task's start during which failed health checks are ignored (Mesos grace period, default 10s)",
  },
  unreachableTimeout: {
    kind: "duration",
    flag: "unreachable-timeout",
    default: DEFAULT_RUN_UNREACHABLE_TIMEOUT_MS,
    min: 1,
    placeholder: "DURATION",
    help: "give up (exit 1) when NATS or the master has been unreachable this long",
  },
  group: {
    kind: "strings",
    flag: "group",
    placeholder: "CMD",
    help: "a shell command of a task group (repeatable): the commands run together as one group in a default executor on one agent, each with --resources",
  },
  ...RUN_URI_OPTIONS,
} as const satisfies OptionSpecs;

const HELP = {
  usage: "agora run [options] -- COMMAND...",
  summary:
    "Runs COMMAND as a task on the cluster (like mesos-execute), prints its states on stderr\n" +
    "and its output on stdout, and exits with its exit code. Ctrl-C kills the task.",
};

/** Same pattern as the protocol's role schema. */
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SHELL_SAFE_RE = /^[A-Za-z0-9_\-+=.,/:@%^]+$/;

/** Quotes one word for `/bin/sh`. */
export function shellQuote(word: string): string {
  if (SHELL_SAFE_RE.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The shell command line of `agora run -- ARGS`: one argument as is, several quoted. */
export function shellCommand(args: readonly string[]): string {
  return args.length === 1 ? args[0]! : args.map(shellQuote).join(" ");
}

/** Exit code of a task OOM-killed at its memory limit: 128 + SIGKILL. */
export const OOM_EXIT_CODE = 137;

/** The exit code of `agora run` for a terminal status of its task. */
export function taskExitCode(status: TaskStatus): number {
  if (status.reason === TaskReason.ContainerLimitationMemory) return OOM_EXIT_CODE;
  const bySignal = (): number | undefined => {
    if (status.signal === undefined) return undefined;
    const number = os.constants.signals[status.signal as NodeJS.Signals];
    return number === undefined ? undefined : 128 + number;
  };
  switch (status.state) {
    case TaskState.Finished:
      return 0;
    case TaskState.Failed:
      if (status.exitCode !== undefined && status.exitCode > 0 && status.exitCode < 256) {
        return status.exitCode;
      }
      return bySignal() ?? ExitCode.Failure;
    case TaskState.Killed:
      return bySignal() ?? ExitCode.Failure;
    default:
      return ExitCode.Failure;
  }
}

/** The validated request of one `agora run`. */
export interface RunSpec {
  name: string;
  role: string;
  need: Resources;
  command: string;
  environment: Record<string, string> | undefined;
  killAfterMs: number | undefined;
  killGracePeriodSeconds: number | undefined;
  healthCheck: HealthCheck | undefined;
  /** Fetched into the sandbox before the command runs (`--uri`, `--uri-executable`). */
  uris: CommandUri[] | undefined;
  /** Give up when the cluster has been unreachable this long (`--unreachable-timeout`). */
  unreachableTimeoutMs: number;
}

/** The health check of `--health-cmd` and its tuning flags (undefined without `--health-cmd`). */
function healthCheckFrom(values: Resolved<typeof RUN_OPTIONS>): HealthCheck | undefined {
  const tuning = [
    ["--health-delay", values.healthDelay],
    ["--health-interval", values.healthInterval],
    ["--health-timeout", values.healthTimeout],
    ["--health-retries", values.healthRetries],
    ["--health-start-period", values.healthStartPeriod],
  ] as const;
  if (values.healthCmd === undefined) {
    const given = tuning.find(([, value]) => value !== undefined);
    if (given !== undefined) throw usageError(`${given[0]} needs --health-cmd`);
    return undefined;
  }
  if (values.healthCmd.trim() === "") throw usageError("--health-cmd must not be empty");
  const seconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);
  const check = {
    type: HealthCheckType.Command,
    command: { value: values.healthCmd, shell: true },
    delaySeconds: seconds(values.healthDelay),
    intervalSeconds: seconds(values.healthInterval),
    timeoutSeconds: seconds(values.healthTimeout),
    consecutiveFailures: values.healthRetries,
    gracePeriodSeconds: seconds(values.healthStartPeriod),
  };
  const defined = Object.fromEntries(Object.entries(check).filter(([, v]) => v !== undefined));
  try {
    return parseHealthCheck(defined);
  } catch (err) {
    throw usageError(`--health-*: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * Checks the command line of `agora run`.
 * @throws AgoraError INVALID_CONFIG (usage) naming the bad flag
 */
export function runSpecFrom(values: Resolved<typeof RUN_OPTIONS>, positionals: string[]): RunSpec {
  if (positionals.length === 0) {
    throw usageError("no command given (usage: agora run [options] -- COMMAND...)");
  }
  if (positionals.every((arg) => arg.trim() === "")) {
    throw usageError("the command is empty (usage: agora run [options] -- COMMAND...)");
  }
  if (values.name.trim() === "" || values.name.length > 256) {
    throw usageError("--name must be 1 to 256 characters");
  }
  let need: Resources;
  try {
    need = Resources.parse(values.resources);
  } catch (err) {
    throw usageError(`--resources: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (need.isEmpty()) throw usageError("--resources must name at least one resource");
  if (!isValidRole(values.role)) {
    throw usageError(`--role: invalid role ${JSON.stringify(values.role)}`);
  }
  let environment: Record<string, string> | undefined;
  for (const entry of values.env ?? []) {
    const eq = entry.indexOf("=");
    const key = eq === -1 ? entry : entry.slice(0, eq);
    if (eq === -1 || !ENV_NAME_RE.test(key)) {
      throw usageError(`--env: expected NAME=VALUE, got ${JSON.stringify(entry)}`);
    }
    environment ??= {};
    environment[key] = entry.slice(eq + 1);
  }
  return {
    name: values.name,
    role: values.role,
    need,
    command: shellCommand(positionals),
    environment,
    killAfterMs: values.killAfter,
    killGracePeriodSeconds:
      values.killGracePeriod === undefined ? undefined : values.killGracePeriod / 1000,
    healthCheck: healthCheckFrom(values),
    uris: runUris(values),
    unreachableTimeoutMs: values.unreachableTimeout,
  };
}

/** The user name, when the system knows one. */
function currentUser(): string | undefined {
  try {
    return os.userInfo().username;
  } catch {
    return undefined;
  }
}

export const runCommand: Command = {
  name: "run",
  summary: "run one command as a task (like mesos-execute); exits with its exit code",
  async run(argv) {
    const parsed = parseCommand(RUN_OPTIONS, argv, HELP, { allowPositionals: true });
    if (parsed === undefined) return 0;
    const group = parsed.values.group ?? [];
    if (group.length > 0 && parsed.positionals.length > 0) {
      throw usageError("run: give either --group commands or one COMMAND, not both");
    }
    const spec = runSpecFrom(parsed.values, group.length > 0 ? ["true"] : parsed.positionals);
    const subjects = subjectsFor(parsed.values.prefix);
    const logger = cliLogger("warn");
    const nc = await connectCli(parsed.values, "agora-run", logger);
    let run: TaskRun | undefined;
    try {
      if (group.length > 0) {
        return await runGroup(nc, subjects, logger, { ...spec, commands: group }, taskExitCode);
      }
      run = new TaskRun(nc, subjects, logger, spec, redactServers(parsed.values.nats));
      return await run.execute();
    } finally {
      // A lost cluster takes nothing more: close at once instead of draining.
      if (run?.leaving === true) await nc.close().catch(() => {});
      else await closeGracefully(nc);
    }
  },
};

/** One run: subscribe, launch on the first fitting offer, follow the task to its end. */
class TaskRun {
  readonly #driver: SchedulerDriver;
  readonly #taskId: string;
  #agentId: string | undefined;
  #agentPrincipal: string | undefined;
  #hostname: string | undefined;
  #output: OutputFollower | undefined;
  /** The terminal update came: the output is being read to its end. */
  #ending = false;
  #launching = false;
  #lastState: string | undefined;
  #interrupts = 0;
  #offersSeen = 0;
  #largest: Resources | undefined;
  #hintTimer: NodeJS.Timeout | undefined;
  #killTimer: NodeJS.Timeout | undefined;
  /** NATS is disconnected (the client reconnects meanwhile). */
  #natsDown = false;
  /** The driver lost the master and is resubscribing. */
  #masterLost = false;
  /** Runs out `--unreachable-timeout` after the cluster became unreachable. */
  #unreachableTimer: NodeJS.Timeout | undefined;
  #leaving = false;
  #finish: (code: number) => void = () => {};
  readonly #done: Promise<number>;

  constructor(
    readonly nc: NatsConnection,
    readonly subjects: Subjects,
    readonly logger: Logger,
    readonly spec: RunSpec,
    readonly natsUrl: string,
  ) {
    this.#taskId = `${spec.name.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64)}-${randomUUID().slice(0, 8)}`;
    this.#driver = new SchedulerDriver({
      nc,
      subjects,
      logger,
      framework: { name: spec.name, roles: [spec.role], user: currentUser() },
    });
    this.#done = new Promise((resolve) => {
      this.#finish = (code) => {
        clearInterval(this.#hintTimer);
        clearTimeout(this.#killTimer);
        clearTimeout(this.#unreachableTimer);
        resolve(code);
      };
    });
  }

  /**
   * The run ends without waiting for the cluster (it is unreachable, or a
   * second Ctrl-C): no teardown wait, the connection closed without draining.
   */
  get leaving(): boolean {
    return this.#leaving;
  }

  get #unreachable(): boolean {
    return this.#natsDown || this.#masterLost;
  }

  /** Starts or stops the `--unreachable-timeout` clock after a change of reachability. */
  #reachabilityChanged(): void {
    if (!this.#unreachable) {
      clearTimeout(this.#unreachableTimer);
      this.#unreachableTimer = undefined;
      return;
    }
    if (this.#unreachableTimer !== undefined) return;
    this.#unreachableTimer = setTimeout(() => {
      const what = this.#natsDown ? `NATS at ${this.natsUrl}` : "the master";
      const task = this.#launching ? `; task ${this.#taskId} may still be running` : "";
      printError(
        `${what} unreachable for ${formatDuration(this.spec.unreachableTimeoutMs)} (--unreachable-timeout); giving up${task}`,
      );
      this.#leaving = true;
      this.#finish(ExitCode.Failure);
    }, this.spec.unreachableTimeoutMs);
  }

  /** Follows the NATS connection's status: disconnected / reconnected. */
  async #watchConnection(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type === "disconnect") this.#natsDown = true;
      else if (status.type === "reconnect") this.#natsDown = false;
      else continue;
      this.#reachabilityChanged();
    }
  }

  async execute(): Promise<number> {
    const driver = this.#driver;
    this.#watchConnection().catch((err: unknown) =>
      this.logger.debug({ err }, "connection status ended"),
    );
    driver.on("offers", ({ offers }) => this.#onOffers(offers));
    driver.on("update", ({ status }) => this.#onUpdate(status));
    // The same error again and again says nothing new: print it once until something changes.
    let lastError: string | undefined;
    driver.on("error", ({ error }) => {
      const text = `master: ${error.code}: ${error.message}`;
      if (text !== lastError) printError(text);
      lastError = text;
    });
    driver.on("disconnected", ({ reason }) => {
      lastError = undefined;
      this.#masterLost = true;
      this.#reachabilityChanged();
      printError(`lost the master (${reason}); resubscribing`);
    });
    driver.on("subscribed", ({ resubscribed, masterId, previousMasterId }) => {
      this.#masterLost = false;
      this.#reachabilityChanged();
      if (!resubscribed) return;
      lastError = undefined;
      printError(
        masterId !== previousMasterId
          ? `master failed over, resubscribed (master ${masterId})`
          : `resubscribed (master ${masterId})`,
      );
    });
    driver.on("failure", ({ agentId }) => {
      if (agentId !== undefined && agentId === this.#agentId) printError(`agent ${agentId} lost`);
    });
    const removeSignals = onStopSignal(() => this.#interrupt());
    this.#hint(() =>
      driver.state === "subscribed"
        ? this.#waitingForOffer()
        : `waiting for a master at ${this.natsUrl} (start one with \`agora dev\`)`,
    );
    try {
      const starting = driver.start();
      starting.catch(() => {}); // rethrown by the race below when it matters
      await Promise.race([starting, this.#done]);
      const code = await this.#done;
      if (this.#leaving) {
        // Nothing waits for the cluster now; a teardown that can go out still does.
        if (!this.#natsDown && driver.state === "subscribed") {
          driver.teardown("agora run quit").catch(() => {});
        }
        return code;
      }
      if (driver.state === "failingOver" || driver.state === "disconnected") {
        // Resubscribing: the teardown needs the (new) master.
        await driver.once("subscribed", { timeoutMs: TEARDOWN_WAIT_MS }).catch(() => {});
      }
      if (driver.state === "subscribed") {
        await driver.teardown("agora run finished").catch((err: unknown) => {
          this.logger.warn({ err }, "teardown failed");
        });
      }
      return code;
    } catch (err) {
      throw AgoraError.from(err);
    } finally {
      removeSignals();
      await driver.stop();
    }
  }

  /** While nothing is launched, says every few seconds what `agora run` waits for (when it changed). */
  #hint(message: () => string): void {
    let last: string | undefined;
    clearInterval(this.#hintTimer);
    this.#hintTimer = setInterval(() => {
      if (this.#launching) return;
      const text = message();
      if (text !== last) printError(text);
      last = text;
    }, HINT_AFTER_MS);
    this.#hintTimer.unref();
  }

  #waitingForOffer(): string {
    const need = this.spec.need.toString();
    if (this.#offersSeen === 0) return `waiting for an offer of ${need} (role ${this.spec.role})`;
    return `waiting for an offer of ${need}; the largest offer so far was ${this.#largest?.toString() ?? "empty"}`;
  }

  async #onOffers(offers: Offer[]): Promise<void> {
    const decline: string[] = [];
    for (const offer of offers) {
      this.#offersSeen++;
      const available = offerResources(offer);
      if (this.#largest === undefined || available.contains(this.#largest))
        this.#largest = available;
      const use = this.#launching ? undefined : fitOffer(this.spec.need, offer);
      if (use === undefined) {
        decline.push(offer.offerId);
        continue;
      }
      await this.#launch(offer, use);
    }
    if (decline.length > 0) {
      const refuseSeconds = this.#launching ? DECLINE_AFTER_LAUNCH_SECONDS : DECLINE_UNFIT_SECONDS;
      await this.#driver.decline(decline, { refuseSeconds }).catch((err: unknown) => {
        this.logger.debug({ err }, "decline failed");
      });
    }
  }

  async #launch(offer: Offer, use: Resources): Promise<void> {
    this.#launching = true;
    this.#agentId = offer.agentId;
    this.#agentPrincipal = offer.agentPrincipal;
    this.#hostname = offer.hostname;
    const task = commandTask({
      taskId: this.#taskId,
      name: this.spec.name,
      agentId: offer.agentId,
      resources: use,
      command: this.spec.command,
      environment: this.spec.environment,
      killGracePeriodSeconds: this.spec.killGracePeriodSeconds,
    });
    if (this.spec.healthCheck !== undefined) task.healthCheck = this.spec.healthCheck;
    if (this.spec.uris !== undefined && task.command !== undefined) {
      task.command.uris = this.spec.uris;
    }
    try {
      await this.#driver.accept([offer.offerId], [task]);
      printError(`task ${this.#taskId} submitted to agent ${offer.hostname} (${offer.agentId})`);
      this.#driver
        .suppress()
        .catch((err: unknown) => this.logger.debug({ err }, "suppress failed"));
    } catch (err) {
      // The offer was rescinded or used meanwhile: wait for the next one.
      this.#launching = false;
      this.#agentId = undefined;
      printError(
        `launch on ${offer.hostname} refused (${AgoraError.from(err).message}); waiting for another offer`,
      );
    }
  }

  #onUpdate(status: TaskStatus): void {
    if (status.taskId !== this.#taskId) return;
    if (status.agentId !== undefined) this.#agentId = status.agentId;
    if (status.state !== this.#lastState) {
      this.#lastState = status.state;
      const detail = status.message
        ? `: ${status.message}`
        : status.reason
          ? ` (${status.reason})`
          : "";
      printError(`task ${this.#taskId} ${status.state}${detail}`);
    }
    if (status.reason === TaskReason.TaskHealthCheckStatusUpdated && status.healthy !== undefined) {
      printError(
        status.healthy
          ? `task ${this.#taskId} healthy`
          : `task ${this.#taskId} unhealthy${status.message ? `: ${status.message}` : ""}`,
      );
    }
    if (status.state === TaskState.Starting || status.state === TaskState.Running) {
      this.#followOutput();
    }
    if (
      status.state === TaskState.Running &&
      this.spec.killAfterMs !== undefined &&
      this.#killTimer === undefined
    ) {
      this.#killTimer = setTimeout(() => {
        printError(`killing task ${this.#taskId} after ${this.spec.killAfterMs} ms`);
        this.#kill();
      }, this.spec.killAfterMs);
    }
    if (isTerminalState(status.state) && !this.#ending) {
      this.#ending = true;
      const interrupted = this.#interrupts > 0 && status.state === TaskState.Killed;
      const code = interrupted ? ExitCode.Interrupted : taskExitCode(status);
      // Only an executor's end says the task ran on the agent and left a sandbox.
      const ran =
        status.state === TaskState.Finished ||
        status.state === TaskState.Failed ||
        status.state === TaskState.Killed;
      if (ran) this.#followOutput();
      // After this handler the driver acknowledges the update: let it go out before the teardown.
      const output = this.#output?.finish(status.data) ?? Promise.resolve(true);
      output.then(
        () => setImmediate(() => this.#finish(code)),
        (err: unknown) => {
          printError(`reading the task's output failed: ${AgoraError.from(err).message}`);
          setImmediate(() => this.#finish(code));
        },
      );
    }
  }

  /** Starts following the sandbox's stdout and stderr (once the agent has the task). */
  #followOutput(): void {
    if (this.#output !== undefined || this.#agentId === undefined) return;
    this.#output = new OutputFollower({
      nc: this.nc,
      subjects: this.subjects,
      frameworkId: this.#driver.frameworkId,
      principal: this.#driver.principal,
      taskId: this.#taskId,
      agentId: this.#agentId,
      agentPrincipal: this.#agentPrincipal,
      hostname: this.#hostname,
    });
    this.#output.start();
  }

  #kill(): void {
    this.#driver.kill(this.#taskId, this.#agentId).catch((err: unknown) => {
      if (this.#leaving) return; // quitting anyway; the message would say nothing new
      const reason = this.#unreachable
        ? "the cluster is unreachable"
        : AgoraError.from(err).message;
      printError(`could not kill task ${this.#taskId} (${reason}); Ctrl-C again to quit`);
    });
  }

  #interrupt(): void {
    this.#interrupts++;
    if (this.#interrupts > 1) {
      this.#leaving = true;
      this.#finish(ExitCode.Interrupted);
      return;
    }
    if (this.#launching && this.#unreachable) {
      printError(
        `cannot kill task ${this.#taskId}: the cluster is unreachable (the task may still be running); exiting`,
      );
      this.#leaving = true;
      this.#finish(ExitCode.Interrupted);
      return;
    }
    if (!this.#launching || this.#lastState === undefined) {
      if (this.#launching) this.#kill();
      this.#finish(ExitCode.Interrupted);
      return;
    }
    printError(`killing task ${this.#taskId} (Ctrl-C again to quit at once)`);
    this.#kill();
    const grace = (this.spec.killGracePeriodSeconds ?? 5) * 1000;
    setTimeout(() => this.#finish(ExitCode.Interrupted), grace + KILL_WAIT_MARGIN_MS).unref();
  }
}
