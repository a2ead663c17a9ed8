/**
 * The `agora` command: dispatches to a subcommand and maps failures to a
 * one-line message on stderr and an exit code (2 for usage errors, 1 for
 * runtime failures).
 */
import { environmentLogLevel } from "../infra/config.ts";
import { type Command, ExitCode, exitCodeOf, oneLine, printError } from "./command.ts";

/** A subcommand as listed; its module is loaded only when it runs (fast start-up). */
export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}

/** Every subcommand, in the order `agora --help` lists them. */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: "dev",
    summary: "run a whole local cluster: nats-server, master and agents",
    load: async () => (await import("./commands/dev.ts")).devCommand,
  },
  {
    name: "demo",
    summary: "the Mesos walk-through, narrated from a live cluster's events",
    load: async () => (await import("./commands/demo.ts")).demoCommand,
  },
  {
    name: "run",
    summary: "run one command as a task (like mesos-execute); exits with its exit code",
    load: async () => (await import("./commands/run.ts")).runCommand,
  },
  {
    name: "state",
    summary: "print the master's state as JSON",
    load: async () => (await import("./commands/state.ts")).stateCommand,
  },
  {
    name: "top",
    summary: "print the tasks' cpu, memory and processes (once or --watch)",
    load: async () => (await import("./commands/top.ts")).topCommand,
  },
  {
    name: "simulate",
    summary: "replay a scenario through the allocator on a virtual clock (JSON lines)",
    load: async () => (await import("./commands/simulate.ts")).simulateCommand,
  },
  {
    name: "events",
    summary: "print the cluster's events as JSON lines",
    load: async () => (await import("./commands/events.ts")).eventsCommand,
  },
  {
    name: "master",
    summary: "run the master daemon",
    load: async () => (await import("./commands/master.ts")).masterCommand,
  },
  {
    name: "agent",
    summary: "run an agent daemon (one per node)",
    load: async () => (await import("./commands/agent.ts")).agentCommand,
  },
  {
    name: "policy",
    summary: "run an allocation policy as an actor, or switch the master's policy",
    load: async () => (await import("./commands/policy.ts")).policyCommand,
  },
  {
    name: "weights",
    summary: "set or show role weights on the running master",
    load: async () => (await import("./commands/weights.ts")).weightsCommand,
  },
  {
    name: "priority",
    summary: "set or show role priorities (the priority policy) on the running master",
    load: async () => (await import("./commands/priority.ts")).priorityCommand,
  },
  {
    name: "quota",
    summary: "set, remove or show role quotas on the running master",
    load: async () => (await import("./commands/quota.ts")).quotaCommand,
  },
  {
    name: "preemption",
    summary: "switch preemption on or off on the running master",
    load: async () => (await import("./commands/preemption.ts")).preemptionCommand,
  },
  {
    name: "ui",
    summary: "serve the live web UI",
    load: async () => (await import("./commands/ui.ts")).uiCommand,
  },
  {
    name: "teardown",
    summary: "tear a framework down on the running master",
    load: async () => (await import("./commands/teardown.ts")).teardownCommand,
  },
  {
    name: "reserve",
    summary: "dynamically reserve an agent's resources for a role",
    load: async () => (await import("./commands/reserve.ts")).reserveCommand,
  },
  {
    name: "unreserve",
    summary: "give a dynamic reservation back",
    load: async () => (await import("./commands/reserve.ts")).unreserveCommand,
  },
  {
    name: "volume",
    summary: "create or destroy a persistent volume on an agent",
    load: async () => (await import("./commands/volume.ts")).volumeCommand,
  },
  {
    name: "drain",
    summary: "drain an agent: no new offers, its tasks killed (now or at a deadline)",
    load: async () => (await import("./commands/drain.ts")).drainCommand,
  },
  {
    name: "undrain",
    summary: "reactivate a drained or deactivated agent",
    load: async () => (await import("./commands/drain.ts")).undrainCommand,
  },
  {
    name: "deactivate",
    summary: "stop offering an agent's resources, its tasks left running",
    load: async () => (await import("./commands/drain.ts")).deactivateCommand,
  },
  {
    name: "maintenance",
    summary: "show or change the maintenance schedule (windows when agents are unavailable)",
    load: async () => (await import("./commands/maintenance.ts")).maintenanceCommand,
  },
  {
    name: "auth",
    summary: "create principals' credentials and the nats-server permissions",
    load: async () => (await import("./commands/auth.ts")).authCommand,
  },
  {
    name: "explain",
    summary: "why a framework receives no offers (or fewer)",
    load: async () => (await import("./commands/explain.ts")).explainCommand,
  },
];

/** The text of `agora --help`. */
export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}`);
  return [
    "Usage: agora <command> [options]",
    "",
    "agora is a cluster resource manager in the architecture of Apache Mesos, on NATS.",
    "",
    "Commands:",
    ...lines,
    "",
    "Every command takes --help. NATS URL: --nats URL or AGORA_NATS_URL (default",
    "nats://127.0.0.1:4222); subject prefix: --prefix or AGORA_SUBJECT_PREFIX (default agora);",
    "credentials: --creds, --nkey, --nats-user/--nats-password, --nats-token, --tls-ca/--tls-cert/",
    "--tls-key (`agora dev`'s are found without flags; see `agora auth --help`).",
    "Quick start: `agora dev` in one terminal, `agora run -- echo hello` in another.",
    "",
  ].join("\n");
}

/** Runs `agora ARGV...` and resolves to the exit code; never throws. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(mainHelp());
    return ExitCode.Usage;
  }
  if (name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(mainHelp());
    return ExitCode.Ok;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (entry === undefined) {
    printError(
      `unknown command ${JSON.stringify(name)}; commands: ${COMMANDS.map((c) => c.name).join(", ")} (see agora --help)`,
    );
    return ExitCode.Usage;
  }
  try {
    // a bad AGORA_LOG_LEVEL is a usage error of every command, whether it logs or not
    environmentLogLevel();
    const command = await entry.load();
    return await command.run(rest);
  } catch (err) {
    printError(`${entry.name}: ${oneLine(err)}`);
    return exitCodeOf(err);
  }
}
