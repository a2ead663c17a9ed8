/**
 * A master process for the bench when the CLI has no `master` command yet:
 * createMaster behind the master's own option table. Runs until SIGTERM or
 * SIGINT. Loaded by computed import so that the bench compiles without the master.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { NatsConnection } from "@nats-io/nats-core";
import { environmentLogLevel } from "../infra/config.ts";
import { closeGracefully, connect } from "../infra/connect.ts";
import { createRootLogger } from "../infra/logger.ts";
import { Subjects } from "../protocol/subjects.ts";

interface MasterModule {
  resolveMasterConfig(input: { argv: string[] }): { nats: string; prefix: string };
  createMaster(deps: {
    nc: NatsConnection;
    logger: ReturnType<typeof createRootLogger>;
    subjects: Subjects;
    config: unknown;
  }): { start(): Promise<void>; stop(): Promise<void> };
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const mod = (await import(path.join(root, "actors", "master", "index.ts"))) as MasterModule;
const config = mod.resolveMasterConfig({ argv: process.argv.slice(2) });
const logger = createRootLogger({ level: environmentLogLevel() });
const nc = await connect({ servers: config.nats, name: "bench-master", logger });
const master = mod.createMaster({ nc, logger, subjects: new Subjects(config.prefix), config });
await master.start();
await new Promise<void>((resolve) => {
  process.once("SIGTERM", () => resolve());
  process.once("SIGINT", () => resolve());
});
await master.stop();
await closeGracefully(nc);
