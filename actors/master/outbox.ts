/**
 * Everything the master sends goes through an {@link Outbox}: to an agent, to
 * a framework's scheduler, or to the cluster event stream. The NATS outbox
 * publishes through a {@link Batcher} (the messages of one subject produced in
 * one task go as one `batch`); unit tests record instead.
 */
import { Batcher, type Publisher } from "../../infra/batch.ts";
import type { Logger } from "../../infra/logger.ts";
import type { Metrics } from "../../infra/metrics.ts";
import type { Message } from "../../protocol/registry.ts";
import {
  type ClusterEventKind,
  DEFAULT_PRINCIPAL,
  type Subjects,
} from "../../protocol/subjects.ts";

/** Where the master's messages go. */
export interface Outbox {
  /**
   * Master → agent on `agent.<principal>.<agentId>`: `principal` is the agent
   * principal the message answers (an agent the master does not know), else
   * the one that registered the agent.
   */
  toAgent(agentId: string, msg: Message, principal?: string): void;
  /** Master → scheduler on `framework.<frameworkId>`. */
  toFramework(frameworkId: string, msg: Message): void;
  /** Master → observers on `events.<kind>`. */
  cluster(kind: ClusterEventKind, msg: Message): void;
  /** Publishes now what is queued (before a reply, which must not overtake it). */
  flush?(): void;
}

/**
 * An outbox that publishes on NATS; a failed publish is logged and counted,
 * never thrown. With `mayPublish`, what is queued goes out only if it still
 * holds when the batch is published (a master that lost its lease between
 * queueing and publishing sends nothing; counted `messages_dropped_not_leading`).
 * `principalOf` names the principal whose event subject carries a framework's
 * events, `agentPrincipalOf` the agent principal whose subject carries an agent's commands.
 */
export function natsOutbox(
  nc: Publisher,
  subjects: Subjects,
  logger: Logger,
  metrics: Metrics,
  mayPublish?: () => boolean,
  principalOf: (frameworkId: string) => string = () => DEFAULT_PRINCIPAL,
  agentPrincipalOf: (agentId: string) => string = () => DEFAULT_PRINCIPAL,
): Outbox {
  const publisher: Publisher =
    mayPublish === undefined
      ? nc
      : {
          publish: (subject, payload, options) => {
            if (mayPublish()) nc.publish(subject, payload, options);
            else metrics.inc("messages_dropped_not_leading");
          },
        };
  const batcher = new Batcher(publisher, { logger, metrics });
  const publish = (subject: () => string, msg: Message) => {
    let to: string;
    try {
      to = subject();
    } catch (err) {
      metrics.inc("messages_send_failed");
      logger.warn({ err, type: msg.type }, "publish failed");
      return;
    }
    batcher.publish(to, msg);
  };
  return {
    toAgent: (agentId, msg, principal) =>
      publish(() => subjects.agent(agentId, principal ?? agentPrincipalOf(agentId)), msg),
    toFramework: (frameworkId, msg) =>
      publish(() => subjects.framework(principalOf(frameworkId), frameworkId), msg),
    cluster: (kind, msg) => publish(() => subjects.event(kind), msg),
    flush: () => batcher.flush(),
  };
}
