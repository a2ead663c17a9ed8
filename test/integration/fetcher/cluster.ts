/**
 * A cluster whose agent fetches URIs from the test's own HTTP server: a
 * scratch directory, the HTTP server of the file's routes (made in the
 * scratch directory), and a one-agent cluster that caches its fetches there.
 */
import path from "node:path";
import type { TestFn } from "ava";
import { type ClusterContext, useCluster } from "../../helpers/cluster.ts";
import { type TempDir, tempDir } from "../../helpers/temp-dir.ts";
import { type Route, startServer, type TestServer } from "./server.ts";

/** What {@link useFetchCluster} puts into the test context. */
export interface FetchClusterContext extends ClusterContext {
  http: TestServer;
  scratch: TempDir;
}

/**
 * Registers serial hooks on `test`: before the file's tests, the scratch dir,
 * the HTTP server of `routes(scratchDir)` and the cluster; after them, all
 * three stopped (the cluster first).
 */
export function useFetchCluster<C extends FetchClusterContext>(
  test: TestFn<C>,
  options: {
    prefix: string;
    /** The agent's resources. */
    resources: string;
    routes: (scratchDir: string) => Promise<Record<string, Route>>;
  },
): void {
  test.serial.before(async (t) => {
    t.context.scratch = await tempDir(`agora-${options.prefix}-`);
    t.context.http = await startServer(await options.routes(t.context.scratch.dir));
  });
  useCluster(test, (context) => ({
    prefix: options.prefix,
    agents: [
      {
        hostname: "agent-1",
        resources: options.resources,
        overrides: { fetcherCacheDir: path.join(context.scratch.dir, "fetch-cache") },
      },
    ],
  }));
  test.serial.after.always(async (t) => {
    await t.context.http?.close();
    await t.context.scratch?.remove();
  });
}
