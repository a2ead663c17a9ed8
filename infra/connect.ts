/**
 * The one NATS connection helper every actor uses: named connections that
 * reconnect forever with jittered backoff and log their status changes.
 */

import { AuthorizationError } from "@nats-io/nats-core";
import { type NatsConnection, connect as natsConnect, type Status } from "@nats-io/transport-node";
import { AgoraError, ErrorCode } from "../protocol/errors.ts";
import { environmentNatsUrl } from "./config.ts";
import {
  devCredentialsFor,
  hasAuth,
  type NatsCredentials,
  natsAuthOptions,
  redactServers,
  redactText,
  secretsOf,
} from "./credentials.ts";
import { DEFAULT_NATS_URL } from "./defaults.ts";
import type { Logger } from "./logger.ts";

/** The NATS URL used when neither a flag nor `AGORA_NATS_URL` gives one. */
export { DEFAULT_NATS_URL };

/** Time between reconnect attempts, before jitter. */
const RECONNECT_TIME_WAIT_MS = 250;
/** Upper bound of the random delay added to {@link RECONNECT_TIME_WAIT_MS}. */
const RECONNECT_JITTER_MS = 250;
/** Default handshake timeout of the first connection. */
const CONNECT_TIMEOUT_MS = 5_000;
/** How long {@link closeGracefully} lets a drain run before it closes. */
const DRAIN_TIMEOUT_MS = 5_000;

/** Options of {@link connect}. */
export interface ConnectOptions {
  /**
   * Server URL(s); a string may hold several joined by commas. Default:
   * `AGORA_NATS_URL`, else {@link DEFAULT_NATS_URL} (infra/config.ts `environmentNatsUrl`).
   */
  servers?: string | string[];
  /** Connection name shown by the server's monitoring, e.g. `master-1`. */
  name: string;
  /** Logger for the connection's status changes; nothing is logged without one. */
  logger?: Logger;
  /** Handshake timeout of the first connection in ms. Default 5 s. */
  timeoutMs?: number;
  /**
   * Credentials and TLS. User info in a URL (`nats://u:p@host`, `nats://token@host`)
   * is used too. Without any way to authenticate, the credentials `agora dev`
   * recorded for exactly these URLs are used (see `devCredentialsFor`), unless
   * `devDefaults` is false.
   */
  credentials?: NatsCredentials;
  /** Look up `agora dev`'s credentials when none are given. Default true. */
  devDefaults?: boolean;
}

function serverList(servers: string | string[] | undefined): string[] {
  const raw = servers ?? environmentNatsUrl();
  const list = (Array.isArray(raw) ? raw : [raw])
    .flatMap((s) => s.split(","))
    .map((s) => s.trim())
    .filter((s) => s !== "");
  return list.length > 0 ? list : [DEFAULT_NATS_URL];
}

function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code =
    err instanceof Error && "code" in err && typeof err.code === "string" ? ` (${err.code})` : "";
  return (message + code).replace(/\s+/g, " ").trim();
}

/**
 * The credentials {@link connect} uses for `options`: the given ones, else
 * (without any way to authenticate and user info in no URL) the ones
 * `agora dev` recorded for these URLs. Its `principal` is who the
 * connection acts as (for the principal token of the subjects it sends on).
 */
export function connectionCredentials(
  options: Pick<ConnectOptions, "servers" | "credentials" | "devDefaults">,
): NatsCredentials {
  const servers = serverList(options.servers);
  const credentials = options.credentials ?? {};
  if (hasAuth(credentials) || options.devDefaults === false) return credentials;
  const userInfo = servers.some((s) => /^[a-z][a-z0-9+.-]*:\/\/[^@/]*@/i.test(s));
  const dev = userInfo ? undefined : devCredentialsFor(servers);
  return dev === undefined ? credentials : { ...dev, ...credentials };
}

/**
 * Connects to NATS as the actor `name`. The connection reconnects forever
 * (`maxReconnectAttempts: -1`) every ~250 ms plus jitter, and its status
 * changes (disconnect, reconnect, errors, lame duck mode, ...) are logged
 * through `logger`.
 *
 * @throws AgoraError with code `UNAVAILABLE` and a one-line message naming the
 *   URL(s) when the first connection fails.
 */
export async function connect(options: ConnectOptions): Promise<NatsConnection> {
  const servers = serverList(options.servers);
  const credentials = connectionCredentials(options);
  const secrets = secretsOf(servers, credentials);
  const shown = redactServers(servers);
  const auth = natsAuthOptions(servers, credentials);
  let nc: NatsConnection;
  try {
    nc = await natsConnect({
      ...auth,
      name: options.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: RECONNECT_TIME_WAIT_MS,
      reconnectJitter: RECONNECT_JITTER_MS,
      timeout: options.timeoutMs ?? CONNECT_TIMEOUT_MS,
    });
  } catch (err) {
    const detail = redactText(oneLine(err), secrets);
    if (isAuthError(err)) {
      throw new AgoraError(
        ErrorCode.Unauthenticated,
        `NATS at ${shown} refused the credentials: ${detail} (${describeAuth(credentials, servers)})`,
      );
    }
    throw new AgoraError(ErrorCode.Unavailable, `NATS unreachable at ${shown}: ${detail}`);
  }
  if (options.logger !== undefined) {
    const log = options.logger.child({ nats: options.name });
    log.debug({ server: nc.getServer() }, "nats connected");
    void logStatus(nc, log);
    void nc.closed().then((err) => {
      if (err) log.error({ err }, "nats connection closed with an error");
    });
  }
  return nc;
}

function isAuthError(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof AuthorizationError) return true;
    if (/authorization violation|authentication/i.test(e.message)) return true;
  }
  return false;
}

/** Which way of authenticating was used, without any secret. */
function describeAuth(creds: NatsCredentials, servers: readonly string[]): string {
  if (creds.creds !== undefined) return `creds file ${creds.creds}`;
  if (creds.nkey !== undefined) return `nkey seed file ${creds.nkey}`;
  if (creds.user !== undefined) return `user ${creds.user}`;
  if (creds.token !== undefined) return "a token";
  const info = servers.find((s) => /^[a-z][a-z0-9+.-]*:\/\/[^@/]*@/i.test(s));
  if (info !== undefined) return "user info of the URL";
  return "no credentials given: pass --creds, --nkey, --user/--password or --token";
}

/** Logs every status event of `nc` until the connection is closed. */
async function logStatus(nc: NatsConnection, log: Logger): Promise<void> {
  try {
    for await (const status of nc.status()) logOne(status, log);
  } catch (err) {
    log.error({ err }, "nats status iterator failed");
  }
}

function logOne(status: Status, log: Logger): void {
  switch (status.type) {
    case "disconnect":
      log.warn({ server: status.server }, "nats disconnected");
      break;
    case "reconnecting":
      log.debug("nats reconnecting");
      break;
    case "reconnect":
      log.info({ server: status.server }, "nats reconnected");
      break;
    case "update":
      log.debug({ added: status.added, deleted: status.deleted }, "nats cluster update");
      break;
    case "ldm":
      log.warn({ server: status.server }, "nats server entering lame duck mode");
      break;
    case "error":
      log.error({ err: status.error }, "nats error");
      break;
    case "ping":
      log.trace({ pendingPings: status.pendingPings }, "nats ping");
      break;
    case "staleConnection":
      log.warn("nats connection stale");
      break;
    case "forceReconnect":
      log.info("nats forced reconnect");
      break;
    case "slowConsumer":
      log.warn({ subject: status.sub.getSubject(), pending: status.pending }, "nats slow consumer");
      break;
    case "close":
      log.debug("nats connection closed");
      break;
  }
}

/**
 * Drains `nc` (finish in-flight messages, flush, close) and falls back to a
 * plain close if the drain fails or takes longer than 5 s. Never throws.
 */
export async function closeGracefully(
  nc: NatsConnection,
  timeoutMs = DRAIN_TIMEOUT_MS,
): Promise<void> {
  if (nc.isClosed()) return;
  let timer: NodeJS.Timeout | undefined;
  try {
    const drain = nc.isDraining() ? nc.closed().then(() => undefined) : nc.drain();
    await Promise.race([
      drain,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("drain timed out")), timeoutMs);
      }),
    ]);
  } catch {
    // fall through to close
  } finally {
    clearTimeout(timer);
  }
  if (!nc.isClosed()) {
    try {
      await nc.close();
    } catch {
      // already closing
    }
  }
}
