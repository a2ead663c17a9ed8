/**
 * Integration tests on a nats-server that enforces the permissions `agora auth`
 * generates: the file's auth directory (a seed per principal and auth.conf),
 * the server started with it, connections as a principal, and the server's
 * refusals as a client sees them. Started before the file's tests, stopped
 * (with everything registered on it) after them, even when they fail.
 */
import path from "node:path";
import { type NatsConnection, PermissionViolationError } from "@nats-io/nats-core";
import type { TestFn } from "ava";
import { AUTH_CONF, seedFile, writeAuthDirectory } from "../../cli/auth-files.ts";
import { closeGracefully, connect } from "../../infra/connect.ts";
import { type NatsServer, startNatsServer } from "../../infra/nats-server.ts";
import { encode } from "../../protocol/codec.ts";
import type { PrincipalSpec } from "../../protocol/permissions.ts";
import type { Message } from "../../protocol/registry.ts";
import type { Subjects } from "../../protocol/subjects.ts";
import { type TempDir, tempDir } from "./temp-dir.ts";

/** The credentials of a principal of the auth directory: its seed file and its name. */
export interface PrincipalCredentials {
  nkey: string;
  principal: string;
}

/** What {@link useSecureServer} started. */
export interface SecureServer {
  server: NatsServer;
  subjects: Subjects;
  /** The auth directory (`agora auth init --dir`). */
  dir: string;
  credentials(principal: string): PrincipalCredentials;
  /** A connection as `principal` (no dev defaults), closed after the file's tests. */
  connectAs(principal: string): Promise<NatsConnection>;
  /** Runs `stop` after the file's tests, before the server stops (last registered, first run). */
  onStop(stop: () => Promise<unknown>): void;
}

/**
 * Registers serial `before`/`after.always` hooks on `test` that write the auth
 * directory of `principals` for `subjects`' prefix, start a nats-server with its
 * auth.conf, and stop it; returns the getter of what runs. A `before` hook
 * registered after this call runs once the server does.
 */
export function useSecureServer<C>(
  test: TestFn<C>,
  options: { subjects: Subjects; principals: PrincipalSpec[] },
): () => SecureServer {
  let secure: SecureServer | undefined;
  let scratch: TempDir | undefined;
  const stops: Array<() => Promise<unknown>> = [];
  test.serial.before(async () => {
    scratch = await tempDir("agora-auth-");
    const dir = scratch.dir;
    const { subjects } = options;
    await writeAuthDirectory(dir, subjects, options.principals);
    const server = await startNatsServer({ args: ["-c", path.join(dir, AUTH_CONF)] });
    const credentials = (principal: string) => ({ nkey: seedFile(dir, principal), principal });
    secure = {
      server,
      subjects,
      dir,
      credentials,
      async connectAs(principal) {
        const nc = await connect({
          servers: server.url,
          name: `test-${principal}`,
          credentials: credentials(principal),
          devDefaults: false,
        });
        stops.push(() => closeGracefully(nc));
        return nc;
      },
      onStop: (stop) => stops.push(stop),
    };
  });
  test.serial.after.always(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    await secure?.server.stop();
    await scratch?.remove();
  });
  return () => {
    if (secure === undefined) throw new Error("the secure nats-server is not started");
    return secure;
  };
}

/** The server's refusal of a publish to `subject`, as nats.js reports it on the status stream. */
export async function publishDenied(
  nc: NatsConnection,
  subject: string,
  message: Message = { type: "agent.heartbeat" },
): Promise<string> {
  const seen = (async () => {
    for await (const s of nc.status()) {
      if (
        s.type === "error" &&
        s.error instanceof PermissionViolationError &&
        s.error.operation === "publish" &&
        s.error.subject === subject
      ) {
        return s.error.message;
      }
    }
    return "closed";
  })();
  nc.publish(subject, encode(message));
  await nc.flush();
  return seen;
}

/** The server's refusal of a subscription to `subject`: it closes with the violation. */
export async function subscribeDenied(nc: NatsConnection, subject: string): Promise<string> {
  const sub = nc.subscribe(subject);
  await nc.flush();
  const err = await sub.closed;
  return err instanceof Error ? err.message : "closed without error";
}

/** The server's message for a refused publish. */
export const pubViolation = (subject: string) =>
  `Permissions Violation for Publish to "${subject}"`;
/** The server's message for a refused subscription. */
export const subViolation = (subject: string) =>
  `Permissions Violation for Subscription to "${subject}"`;
