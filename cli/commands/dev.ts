/**
 * `agora dev`: a whole local cluster in this process — an embedded
 * nats-server (port 4222 when free, so that `npx agora run ...` in another
 * terminal needs no flag), a master and `--agents` agents — until Ctrl-C,
 * which stops the agents (and their executors and tasks), the master and the
 * server, and exits 0. The embedded server is authenticated: it enforces the
 * permissions `agora auth` generates, with the credentials kept in
 * `$AGORA_HOME/dev` (default `~/.agora/dev`), where every other command of
 * the same user finds them for this server's URL without flags.
 */
import { rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { COMMON_OPTIONS, type OptionSpecs } from "../../infra/config.ts";
import { DEFAULT_NATS_URL } from "../../infra/connect.ts";
import {
  type DevConnection,
  devCredentialsDir,
  type NatsCredentials,
} from "../../infra/credentials.ts";
import { DEFAULT_DEV_AGENTS, DEFAULT_UI_HTTP_PORT } from "../../infra/defaults.ts";
import { PrincipalKind, type PrincipalSpec } from "../../protocol/permissions.ts";
import { Resources } from "../../protocol/resources.ts";
import type { Subjects } from "../../protocol/subjects.ts";
import { AUTH_CONF, seedFile, writeAuthDirectory } from "../auth-files.ts";
import { type Command, ExitCode, parseCommand, printError, usageError } from "../command.ts";
import { startLocalCluster } from "../local-cluster.ts";
import { cliLogger, onStopSignal, subjectsFor } from "../runtime.ts";

/** The port `agora dev` gives its embedded server when it is free: NATS's default. */
const DEV_NATS_PORT = 4222;
/** Work dir of the dev agents, relative to the current directory. */
const DEV_WORK_DIR = ".agora/dev";
/** Most agents `agora dev` starts. */
const MAX_DEV_AGENTS = 64;

const DEV_OPTIONS = {
  nats: {
    kind: "string",
    flag: "nats",
    placeholder: "URL",
    help: "use this NATS server instead of starting one (AGORA_NATS_URL is ignored here)",
  },
  prefix: COMMON_OPTIONS.prefix,
  agents: {
    kind: "integer",
    flag: "agents",
    default: DEFAULT_DEV_AGENTS,
    min: 0,
    max: MAX_DEV_AGENTS,
    placeholder: "N",
    help: "number of agents",
  },
  agentResources: {
    kind: "string",
    flag: "agent-resources",
    placeholder: "RESOURCES",
    help: "resources of each agent, e.g. 'cpus:2;mem:2048' (names not given are detected)",
  },
  natsPort: {
    kind: "integer",
    flag: "nats-port",
    placeholder: "PORT",
    min: 0,
    max: 65535,
    help: `port of the embedded nats-server; 0 = random (default ${DEV_NATS_PORT}, or a random one when ${DEV_NATS_PORT} is taken; a port given here that is taken is an error)`,
  },
  uiPort: {
    kind: "integer",
    flag: "ui-port",
    default: DEFAULT_UI_HTTP_PORT,
    placeholder: "PORT",
    help: "port of the web UI (agora ui), a random one when taken; 0 = random",
  },
  workDir: {
    kind: "string",
    flag: "work-dir",
    default: DEV_WORK_DIR,
    placeholder: "DIR",
    help: "agent N works in DIR/agent-N",
  },
} as const satisfies OptionSpecs;

const HELP = {
  usage: "agora dev [options]",
  summary:
    "Starts a local cluster in this process: an embedded nats-server (unless --nats), a master\n" +
    "and N agents named agent-1..agent-N. Ctrl-C stops everything.",
};

export const devCommand: Command = {
  name: "dev",
  summary: "run a whole local cluster: nats-server, master and agents",
  async run(argv) {
    const parsed = parseCommand(DEV_OPTIONS, argv, HELP);
    if (parsed === undefined) return 0;
    const { values } = parsed;
    if (values.agentResources !== undefined) {
      try {
        Resources.parse(values.agentResources);
      } catch (err) {
        throw usageError(`--agent-resources: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    const subjects = subjectsFor(values.prefix);
    const logger = cliLogger("warn");

    let interrupted = false;
    let stopRequested: () => void = () => {};
    const stopped = new Promise<void>((resolve) => {
      stopRequested = resolve;
    });
    const removeSignals = onStopSignal(() => {
      if (interrupted) {
        printError("stopping at once");
        process.exit(ExitCode.Interrupted); // the exit hook kills the embedded server
      }
      interrupted = true;
      stopRequested();
    });

    try {
      // the embedded server enforces the generated permissions; an external one is the user's
      const auth = values.nats === undefined ? await devAuth(subjects) : undefined;
      const cluster = await startLocalCluster({
        natsUrl: values.nats,
        natsPort: values.natsPort ?? DEV_NATS_PORT,
        natsPortStrict: values.natsPort !== undefined,
        name: "agora dev",
        http: true,
        subjects,
        uiPort: values.uiPort,
        logger,
        ...(auth === undefined ? {} : { natsArgs: auth.natsArgs, credentials: auth.credentials }),
        agents: Array.from({ length: values.agents }, (_, i) => ({
          hostname: `agent-${i + 1}`,
          workDir: path.resolve(values.workDir, `agent-${i + 1}`),
          resources: values.agentResources,
          ...(auth === undefined ? {} : { overrides: auth.agentOverrides }),
        })),
      });
      try {
        await auth?.publish(cluster.url);
        if (!interrupted) {
          printBanner(cluster.url, values.prefix, cluster.agents, {
            authDir: auth?.dir,
            masterHttpUrl: cluster.masterHttpUrl,
            uiUrl: cluster.uiUrl,
          });
        }
        await stopped;
        process.stderr.write("agora dev: stopping agents, master and nats-server\n");
      } finally {
        await auth?.unpublish();
        await cluster.stop();
      }
      process.stderr.write("agora dev: stopped\n");
      return 0;
    } finally {
      removeSignals();
    }
  },
};

function printBanner(
  url: string,
  prefix: string,
  agents: ReadonlyArray<{
    spec: { hostname: string };
    agent: { resources(): Record<string, unknown> | undefined; readonly httpUrl?: string };
  }>,
  where: {
    authDir?: string | undefined;
    masterHttpUrl?: string | undefined;
    uiUrl?: string | undefined;
  },
): void {
  const lines = [`agora dev: ready — NATS at ${url}, a master and ${agents.length} agent(s)`];
  if (where.authDir !== undefined) {
    lines.push(`  authenticated: credentials in ${where.authDir} (found by the other commands)`);
  }
  if (where.masterHttpUrl !== undefined) {
    const m = where.masterHttpUrl;
    lines.push(`  master: ${m}/state  ${m}/metrics  ${m}/health`);
  }
  for (const { spec, agent } of agents) {
    const res = agent.resources();
    const http = agent.httpUrl === undefined ? "" : `  (${agent.httpUrl}/state, /metrics)`;
    lines.push(
      `  ${spec.hostname}: ${res === undefined ? "?" : Resources.fromJSON(res).toString()}${http}`,
    );
  }
  if (where.uiUrl !== undefined) lines.push(`  web UI: ${where.uiUrl}`);
  const env: string[] = [];
  if (url !== DEFAULT_NATS_URL) env.push(`export AGORA_NATS_URL=${url}`);
  if (prefix !== COMMON_OPTIONS.prefix.default) env.push(`export AGORA_SUBJECT_PREFIX=${prefix}`);
  if (env.length > 0) {
    lines.push("", "In another terminal, first:");
    for (const e of env) lines.push(`  ${e}`);
  }
  lines.push(
    "",
    "Try, in another terminal:",
    "  npx agora run -- echo hello     # run a command as a task",
    "  npx agora state                 # the master's state as JSON",
    "  npx agora events                # the cluster's events, live",
    "",
    "Ctrl-C stops the cluster. More logs: AGORA_LOG_LEVEL=info npx agora dev",
  );
  process.stdout.write(`${lines.join("\n")}\n`);
}

/** The principals of the dev cluster. */
const DEV_PRINCIPALS: PrincipalSpec[] = [
  { name: "master", kind: PrincipalKind.Master },
  { name: "agents", kind: PrincipalKind.Agent },
  { name: "executor", kind: PrincipalKind.Executor, agent: "agents" },
  { name: "cli", kind: PrincipalKind.Cli },
];

/**
 * The dev cluster's credentials in {@link devCredentialsDir} (kept across runs),
 * the server's `-c auth.conf`, and `connection.json` naming the URL whose
 * clients use the `cli` principal without flags (written once the server runs,
 * removed on stop).
 */
async function devAuth(subjects: Subjects) {
  const dir = devCredentialsDir();
  await writeAuthDirectory(dir, subjects, DEV_PRINCIPALS);
  const connectionFile = path.join(dir, "connection.json");
  const as = (principal: string): NatsCredentials => ({
    nkey: seedFile(dir, principal),
    principal,
  });
  return {
    dir,
    natsArgs: ["-c", path.join(dir, AUTH_CONF)],
    credentials: (actor: "master" | "agent" | "observer") =>
      as(actor === "master" ? "master" : actor === "agent" ? "agents" : "cli"),
    agentOverrides: { executorNkey: seedFile(dir, "executor"), executorPrincipal: "executor" },
    async publish(url: string): Promise<void> {
      const conn: DevConnection = { url, nkey: "cli.nk", principal: "cli" };
      await writeFile(connectionFile, `${JSON.stringify(conn)}\n`, { mode: 0o600 });
    },
    async unpublish(): Promise<void> {
      await rm(connectionFile, { force: true });
    },
  };
}
