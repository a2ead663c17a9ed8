/**
 * A whole agora cluster in one process, for `agora dev`, `agora demo` and
 * end-to-end tests: an embedded nats-server (unless a URL is given), a master
 * and N agents, each actor with a NATS connection of its own. `stop()` shuts
 * the agents down (killing their executors), then the master, then the server.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import {
  type Agent,
  type AgentConfig,
  createAgent,
  resolveAgentConfig,
} from "../actors/agent/index.ts";
import { createMaster, type MasterConfig, resolveMasterConfig } from "../actors/master/index.ts";
import { createUi, type UiActor } from "../actors/ui/index.ts";
import { type Clock, systemClock } from "../infra/clock.ts";
import { closeGracefully, connect } from "../infra/connect.ts";
import type { NatsCredentials } from "../infra/credentials.ts";
import type { Logger } from "../infra/logger.ts";
import { type NatsServer, startNatsServer } from "../infra/nats-server.ts";
import { AgoraError, ErrorCode } from "../protocol/errors.ts";
import type { Subjects } from "../protocol/subjects.ts";

/** One agent of a local cluster. */
export interface LocalAgentSpec {
  hostname: string;
  workDir: string;
  /** Mesos resource string; names not given are detected. */
  resources?: string;
  attributes?: string;
  /** Any other agent option. */
  overrides?: Partial<AgentConfig>;
}

/** Options of {@link startLocalCluster}. */
export interface LocalClusterOptions {
  /** Use this NATS server instead of starting one. */
  natsUrl?: string;
  /**
   * The credentials of each actor's connection (`master`, `observer`, or an
   * agent's hostname); none by default (the `agora dev` defaults are not used).
   */
  credentials?: (actor: "master" | "agent" | "observer", name: string) => NatsCredentials;
  /** Extra nats-server arguments of the embedded server (e.g. `-c auth.conf`). */
  natsArgs?: string[];
  /**
   * Port of the embedded server: tried first, a random free port when it is
   * taken. 0 or absent: a random port.
   */
  natsPort?: number;
  /** `natsPort` was asked for explicitly: a port that is taken is an error, not a fallback. */
  natsPortStrict?: boolean;
  subjects: Subjects;
  agents: LocalAgentSpec[];
  /** Master options besides `nats` and `prefix`. */
  master?: Partial<MasterConfig>;
  logger: Logger;
  clock?: Clock;
  /** Who runs the cluster, for logs (e.g. `agora dev`). @default "local cluster" */
  name?: string;
  /**
   * Also serve the web UI (`agora ui`) on this port (a random one when it is
   * taken; 0 = random). Absent: no UI.
   */
  uiPort?: number;
  /** How long to wait for every agent to register. @default 20 s */
  readyTimeoutMs?: number;
  /** Serve the master's and agents' HTTP endpoints (`/metrics`, `/health`, `/state`) on free ports. */
  http?: boolean;
}

/** A running local cluster. */
export interface LocalCluster {
  /** The NATS URL every actor uses. */
  readonly url: string;
  /** The embedded server, when one was started. */
  readonly server: NatsServer | undefined;
  readonly agents: ReadonlyArray<{ spec: LocalAgentSpec; agent: Agent }>;
  /** The web UI's address (`http://host:port/ui/`), when `uiPort` was given. */
  readonly uiUrl: string | undefined;
  /** The master's HTTP endpoints, with `http`. */
  readonly masterHttpUrl: string | undefined;
  /** Stops agents (and their executors), the master and the embedded server. Idempotent. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const DEFAULT_READY_TIMEOUT_MS = 20_000;
const READY_POLL_MS = 50;

async function startServer(
  port: number | undefined,
  strict: boolean,
  args: string[] = [],
): Promise<NatsServer> {
  if (port !== undefined && port > 0) {
    try {
      return await startNatsServer({ port, args });
    } catch (cause) {
      if (strict) {
        throw new AgoraError(
          ErrorCode.InvalidConfig,
          `--nats-port ${port}: the embedded nats-server cannot listen there (taken?); choose another port or 0 for a random one`,
          { cause },
        );
      }
      // the default port is taken: fall back to a random port
    }
  }
  return startNatsServer({ args });
}

/**
 * Starts the cluster and resolves once every agent is registered.
 * @throws AgoraError when a piece does not start; what was started is stopped again
 */
export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  const { logger, subjects } = options;
  const cleanup: Array<() => Promise<void>> = [];
  const connections: NatsConnection[] = [];
  const agents: Array<{ spec: LocalAgentSpec; agent: Agent }> = [];
  let server: NatsServer | undefined;
  let ui: UiActor | undefined;
  let masterHttpUrl: string | undefined;
  const http = options.http === true ? { httpPort: 0 } : {};
  let stopping: Promise<void> | undefined;

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      // Agents first: shutting one down kills its executors and their tasks.
      await Promise.allSettled(
        agents.map(({ agent }) => agent.shutdown(`${options.name ?? "local cluster"} stopped`)),
      );
      for (const fn of cleanup.reverse()) {
        try {
          await fn();
        } catch (err) {
          logger.warn({ err }, "cleanup step failed");
        }
      }
    })();
    return stopping;
  };

  try {
    let url = options.natsUrl;
    if (url === undefined) {
      server = await startServer(
        options.natsPort,
        options.natsPortStrict === true,
        options.natsArgs,
      );
      const s = server;
      cleanup.push(() => s.stop());
      url = server.url;
    }
    const natsUrl = url;
    const open = async (
      name: string,
      actor: "master" | "agent" | "observer" = name === "master" ? "master" : "agent",
    ): Promise<NatsConnection> => {
      const credentials = options.credentials?.(actor, name);
      const nc = await connect({
        servers: natsUrl,
        name,
        logger,
        ...(credentials === undefined ? {} : { credentials }),
        devDefaults: false,
      });
      connections.push(nc);
      cleanup.push(() => closeGracefully(nc));
      return nc;
    };

    const masterConfig = resolveMasterConfig({
      argv: [],
      overrides: { ...http, ...options.master, nats: natsUrl, prefix: subjects.prefix },
    });
    const master = createMaster({
      nc: await open("master"),
      logger,
      subjects,
      config: masterConfig,
      clock: options.clock,
    });
    cleanup.push(() => master.stop());
    await master.start();
    masterHttpUrl = master.httpUrl;

    if (options.uiPort !== undefined) {
      const uiNc = await open("ui", "observer");
      const startUi = async (port: number) => {
        const uiPrincipal = options.credentials?.("observer", "ui").principal;
        const actor = createUi({
          nc: uiNc,
          subjects,
          ...(uiPrincipal === undefined ? {} : { principal: uiPrincipal }),
          logger,
          clock: options.clock ?? systemClock,
          port,
        });
        try {
          await actor.start();
        } catch (err) {
          await actor.stop();
          throw err;
        }
        return actor;
      };
      // the port taken: a random one
      ui = await startUi(options.uiPort).catch(() => startUi(0));
      const started = ui;
      cleanup.push(() => started.stop());
    }

    for (const spec of options.agents) {
      const config = resolveAgentConfig({
        argv: [],
        env: {},
        overrides: {
          ...http,
          ...spec.overrides,
          nats: natsUrl,
          prefix: subjects.prefix,
          hostname: spec.hostname,
          workDir: spec.workDir,
          resources: spec.resources,
          attributes: spec.attributes,
        },
      });
      const agentPrincipal = options.credentials?.("agent", spec.hostname).principal;
      const agent = createAgent({
        nc: await open(spec.hostname),
        logger,
        subjects,
        config,
        ...(agentPrincipal === undefined ? {} : { principal: agentPrincipal }),
        clock: options.clock,
        natsUrl,
      });
      agents.push({ spec, agent });
      cleanup.push(() => agent.stop());
      await agent.start();
    }

    await waitUntil(
      () => agents.every(({ agent }) => agent.registered()),
      options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
      () => {
        const missing = agents
          .filter(({ agent }) => !agent.registered())
          .map((a) => a.spec.hostname);
        return `agents not registered with the master in time: ${missing.join(", ")}`;
      },
    );
  } catch (err) {
    await stop();
    throw AgoraError.from(err);
  }

  const cluster: LocalCluster = {
    url: server?.url ?? options.natsUrl!,
    server,
    agents,
    uiUrl: ui?.url,
    masterHttpUrl,
    stop,
    [Symbol.asyncDispose]: stop,
  };
  return cluster;
}

/** Polls `ready` until it holds. @throws AgoraError TIMEOUT with `describe()` */
async function waitUntil(
  ready: () => boolean,
  timeoutMs: number,
  describe: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new AgoraError(ErrorCode.Timeout, describe());
    await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
  }
}
