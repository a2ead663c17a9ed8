/**
 * Helpers of the high-availability tests: masters in-process on their own
 * connections with a short lease, a "crash" (the connection dropped without
 * a clean stop, so the lease is not given up), and waits on leadership.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import type { MasterConfig } from "../../../actors/master/config.ts";
import { createMaster, type Master, resolveMasterConfig } from "../../../actors/master/index.ts";
import { closeGracefully, connect } from "../../../infra/connect.ts";
import { request, requestState } from "../../../infra/request.ts";
import type { MasterState } from "../../../protocol/operator.ts";
import type { Message, MessageOf, MessageType } from "../../../protocol/registry.ts";
import type { Subjects } from "../../../protocol/subjects.ts";
import { TEST_MASTER, testLogger, WAIT_MS } from "../master/helpers.ts";

/** A short lease (1 s, still safe on a loaded 2-core machine) so failovers take a second or two. */
export const HA_MASTER: Partial<MasterConfig> = {
  ...TEST_MASTER,
  leaderLease: 1000,
  agentReregisterTimeout: 10_000,
};

/** A master of an HA test. */
export interface HaMaster {
  master: Master;
  nc: NatsConnection;
  /** Clean stop: gives the lease up. */
  stop(): Promise<void>;
  /** A crash as its peers see it: the connection is gone, the lease stays until it expires. */
  crash(): Promise<void>;
}

/** Starts a master; resolves once it leads or has seen another master lead. */
export async function startHaMaster(
  urls: string | string[],
  subjects: Subjects,
  masterId: string,
  overrides: Partial<MasterConfig> = {},
): Promise<HaMaster> {
  const nc = await connect({ servers: urls, name: `test-master-${masterId}` });
  const config = resolveMasterConfig({
    env: {},
    overrides: { ...HA_MASTER, ...overrides, masterId, prefix: subjects.prefix },
  });
  const master = createMaster({ nc, logger: testLogger(), subjects, config });
  try {
    await master.start();
  } catch (err) {
    await nc.close();
    throw err;
  }
  let stopped = false;
  return {
    master,
    nc,
    async stop() {
      if (stopped) return;
      stopped = true;
      await master.stop();
      await closeGracefully(nc);
    },
    async crash() {
      if (stopped) return;
      stopped = true;
      await nc.close();
      await master.stop();
    },
  };
}

/** Resolves with the first of `masters` that leads and serves (or fails after the wait). */
export async function leaderOf(masters: HaMaster[], timeoutMs = WAIT_MS): Promise<HaMaster> {
  return withTimeout(
    Promise.race(masters.map((m) => m.master.whenLeading().then(() => m))),
    timeoutMs,
    "a leader",
  );
}

/** Rejects after `ms` with what was awaited. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** `operator.getState` on one master's instance subject. */
export async function instanceState(
  nc: NatsConnection,
  subjects: Subjects,
  masterId: string,
): Promise<MasterState> {
  return (await requestState(nc, subjects.masterInstance(masterId), WAIT_MS)).state;
}

/** An operator call to whichever master leads. */
export function operator<T extends MessageType>(
  nc: NatsConnection,
  subjects: Subjects,
  msg: Message,
  types: readonly T[],
): Promise<MessageOf<T>> {
  return request(nc, subjects.masterOperator(), msg, types, WAIT_MS);
}
