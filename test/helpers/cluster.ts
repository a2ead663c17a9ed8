/**
 * An in-process cluster (master and agents) on a test's own nats-server: as a
 * call ({@link startCluster}, for a test that starts its own) or as the
 * file's shared set-up ({@link useCluster}: nats-server + cluster started
 * before the file's tests, stopped after them even when they fail).
 */
import path from "node:path";
import type { TestFn } from "ava";
import type { MasterConfig } from "../../actors/master/index.ts";
import {
  type LocalAgentSpec,
  type LocalCluster,
  type LocalClusterOptions,
  startLocalCluster,
} from "../../cli/local-cluster.ts";
import { silentLogger } from "../../infra/logger.ts";
import {
  type NatsServer,
  type NatsServerOptions,
  startNatsServer,
} from "../../infra/nats-server.ts";
import { Subjects } from "../../protocol/subjects.ts";
import { tempDir } from "./temp-dir.ts";

/** An agent of a test cluster (its work dir defaults to one under the cluster's). */
export type TestAgentSpec = Omit<LocalAgentSpec, "workDir"> & { workDir?: string };

/** Starts a master and agents in this process on the test's server. */
export async function startCluster(options: {
  url: string;
  subjects: Subjects;
  agents: TestAgentSpec[];
  master?: Partial<MasterConfig>;
  /** Also serve the web UI on this port (0 = random). */
  uiPort?: number;
  /** The credentials of each actor's connection (a server that authenticates). */
  credentials?: LocalClusterOptions["credentials"];
}): Promise<LocalCluster & { workDir: string }> {
  const work = await tempDir("agora-e2e-");
  const cluster = await startLocalCluster({
    natsUrl: options.url,
    subjects: options.subjects,
    logger: silentLogger(),
    agents: options.agents.map((a) => ({
      ...a,
      workDir: a.workDir ?? path.join(work.dir, a.hostname),
    })),
    master: { allocationInterval: 100, ...options.master },
    uiPort: options.uiPort,
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
  });
  const stop = async () => {
    await cluster.stop();
    await work.remove();
  };
  return { ...cluster, stop, [Symbol.asyncDispose]: stop, workDir: work.dir };
}

/** What {@link useCluster} puts into the test context. */
export interface ClusterContext {
  server: NatsServer;
  cluster: LocalCluster;
  subjects: Subjects;
  /** `--nats <url> --prefix <prefix>`: the CLI's arguments for this cluster. */
  args: string[];
}

/** The cluster of {@link useCluster}. */
export interface UseClusterOptions {
  /** Subject prefix of the cluster. */
  prefix: string;
  agents: TestAgentSpec[];
  master?: Partial<MasterConfig>;
  nats?: NatsServerOptions;
}

/**
 * Registers `before`/`after.always` hooks on `test` that start a nats-server
 * and a cluster on it, into `t.context`, and stop them. `options` may read
 * what earlier `before` hooks put in the context; `undefined` starts nothing
 * (a file whose tests all skip here). Hooks registered after this call run
 * after its start and after its stop.
 */
export function useCluster<C extends ClusterContext>(
  test: TestFn<C>,
  options: UseClusterOptions | ((context: C) => UseClusterOptions | undefined),
): void {
  // Serial hooks: a later `before` of the file starts once the cluster runs, and
  // an `after.always` registered earlier (closing a connection) ends before it stops.
  test.serial.before(async (t) => {
    const resolved = typeof options === "function" ? options(t.context) : options;
    if (resolved === undefined) return;
    const server = await startNatsServer(resolved.nats);
    t.context.server = server;
    const subjects = new Subjects(resolved.prefix);
    t.context.subjects = subjects;
    t.context.cluster = await startCluster({
      url: server.url,
      subjects,
      agents: resolved.agents,
      ...(resolved.master === undefined ? {} : { master: resolved.master }),
    });
    t.context.args = ["--nats", server.url, "--prefix", subjects.prefix];
  });
  test.serial.after.always(async (t) => {
    await t.context.cluster?.stop();
    await t.context.server?.stop();
  });
}
