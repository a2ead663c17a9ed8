/**
 * One operator request to the master (`master.operator.<principal>`), shared
 * by the commands that read or change the master's settings (`agora weights`,
 * `agora quota`, `agora policy use`, ...): connect, ask, map "nobody answered"
 * to a one-line hint, close. The principal is the command's (`--principal` /
 * `AGORA_PRINCIPAL`, `agora dev`'s `cli`, else `default`): the one the NATS
 * server lets its credential publish for and the master's ACLs check.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { COMMON_OPTIONS, type OptionSpecs } from "../../infra/config.ts";
import { closeGracefully } from "../../infra/connect.ts";
import { credentialsOf, hasAuth, redactServers } from "../../infra/credentials.ts";
import { DEFAULT_REQUEST_TIMEOUT_MS } from "../../infra/defaults.ts";
import { request } from "../../infra/request.ts";
import { AgoraError, ErrorCode } from "../../protocol/errors.ts";
import type { Message, MessageOf, MessageType } from "../../protocol/registry.ts";
import { DEFAULT_PRINCIPAL } from "../../protocol/subjects.ts";
import { cliLogger, connectCli, type NatsTarget, principalOf, subjectsFor } from "../runtime.ts";

/** Options of every operator command: NATS URL, prefix and the reply deadline. */
export const OPERATOR_OPTIONS = {
  ...COMMON_OPTIONS,
  timeout: {
    kind: "duration",
    flag: "timeout",
    default: DEFAULT_REQUEST_TIMEOUT_MS,
    placeholder: "DURATION",
    help: "how long to wait for the master's answer",
  },
} as const satisfies OptionSpecs;

/** Where and how long to ask. */
export interface OperatorTarget extends NatsTarget {
  prefix: string;
  timeout: number;
}

/**
 * Connects, runs `ask` against the master's operator subject, closes.
 * @throws AgoraError UNAVAILABLE/TIMEOUT with a hint when no master answers, or the master's error
 */
export async function askMaster<R>(
  target: OperatorTarget,
  clientName: string,
  ask: (nc: NatsConnection, subject: string) => Promise<R>,
): Promise<R> {
  const subjects = subjectsFor(target.prefix);
  const principal = principalOf(target);
  const nc = await connectCli(target, clientName, cliLogger("warn"));
  try {
    return await ask(nc, subjects.masterOperator(principal)).catch((err: unknown) => {
      const error = AgoraError.from(err);
      if (error.code === ErrorCode.Unavailable || error.code === ErrorCode.Timeout) {
        // a credential without its principal calls on master.operator.default, which it may not
        const hint =
          principal === DEFAULT_PRINCIPAL && hasAuth(credentialsOf(target))
            ? "; with a credential, pass its principal too (--principal NAME or AGORA_PRINCIPAL, as in its .env file)"
            : "";
        throw new AgoraError(
          error.code,
          `no master answered at ${redactServers(target.nats)} (prefix ${target.prefix}); start one with \`agora dev\` or \`agora master\`${hint}`,
        );
      }
      throw error;
    });
  } finally {
    await closeGracefully(nc);
  }
}

/**
 * Sends `msg` to the master's operator subject and returns its reply.
 * @throws AgoraError as {@link askMaster}
 */
export function operatorCall<T extends MessageType>(
  target: OperatorTarget,
  clientName: string,
  msg: Message,
  types: readonly T[],
): Promise<MessageOf<T>> {
  return askMaster(target, clientName, (nc, subject) =>
    request(nc, subject, msg, types, target.timeout),
  );
}
