/**
 * Every NATS subject of agora is built here and nowhere else.
 *
 * Layout: `<prefix>.v3.<recipient>...`. A subject names who receives the
 * message; the identity of the sender is in the subject wherever the server
 * can enforce it with permissions (protocol/permissions.ts derives them from
 * these builders): an agent publishes only under
 * `<prefix>.v3.master.register.<principal>` and
 * `<prefix>.v3.master.agent.<principal>.<agentId>` (the master records which
 * agent principal registered an id), an operator only under
 * `<prefix>.v3.master.operator.<principal>`, a framework's scheduler only under
 * `<prefix>.v3.master.subscribe.<principal>` and
 * `<prefix>.v3.master.framework.<principal>.<frameworkId>` and receives on
 * `<prefix>.v3.framework.<principal>.<frameworkId>` (the framework id is
 * assigned by the master, so the principal is what a credential can be
 * limited to). The master → agent subjects carry the agent principal that
 * registered the id: an agent receives on `<prefix>.v3.agent.<principal>.<agentId>`,
 * its executors publish under
 * `<prefix>.v3.agent.<principal>.<agentId>.executor.<frameworkId>.<executorId>`
 * and receive on `<prefix>.v3.executor.<principal>.<agentId>.<frameworkId>.<executorId>`
 * (the executor credential of an agent principal is limited to these), and a
 * framework reads task files on `<prefix>.v3.agent.<principal>.<agentId>.files.<its principal>`.
 */
import { AgoraError, ErrorCode } from "./errors.ts";

/** Protocol major version carried by every message (`v`); stored records carry it too. */
export const PROTOCOL_VERSION = 1;
/**
 * Version of the subject layout, the `v3` of `<prefix>.v3.…`. Version 2 put
 * the framework's principal into its subjects (issue 11), version 3 the agent
 * principal into the agent-facing ones (`agent.<principal>.<agentId>…`,
 * `executor.<principal>.…`) and the requesting framework principal into
 * `files.read`; actors of different layouts never hear each other. Messages keep
 * {@link PROTOCOL_VERSION}.
 */
export const SUBJECT_VERSION = 3;
/**
 * The principal token of an unauthenticated sender: a framework whose
 * FrameworkInfo names none (Mesos: an unauthenticated framework), an agent or
 * an operator command started without `--principal` / `AGORA_PRINCIPAL`.
 */
export const DEFAULT_PRINCIPAL = "default";

/** The principal a framework's subjects carry: `FrameworkInfo.principal`, else {@link DEFAULT_PRINCIPAL}. */
export function frameworkPrincipal(info: { principal?: string | undefined } | undefined): string {
  const p = info?.principal;
  return p === undefined || p === "" ? DEFAULT_PRINCIPAL : p;
}
/**
 * The NATS header of every executor → agent message: the secret token the
 * agent gave that executor alone (`AGORA_EXECUTOR_TOKEN`, never a task's).
 */
export const EXECUTOR_TOKEN_HEADER = "Agora-Executor-Token";
/** The default subject prefix. */
export const DEFAULT_SUBJECT_PREFIX = "agora";

const FORBIDDEN = /[\s.*>]/;

function hasControl(id: string): boolean {
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}
const MAX_ID_LENGTH = 256;

/**
 * Checks that an identifier can be one subject token: not empty, no `.`,
 * `*`, `>`, whitespace or control characters, at most 256 characters.
 * @throws AgoraError INVALID_ID
 */
export function assertValidId(id: string, what = "id"): string {
  if (typeof id !== "string" || id.length === 0) {
    throw new AgoraError(ErrorCode.InvalidId, `${what} must not be empty`);
  }
  if (id.length > MAX_ID_LENGTH) {
    throw new AgoraError(ErrorCode.InvalidId, `${what} is longer than ${MAX_ID_LENGTH} characters`);
  }
  if (FORBIDDEN.test(id) || hasControl(id)) {
    throw new AgoraError(
      ErrorCode.InvalidId,
      `${what} ${JSON.stringify(id)} contains a character not allowed in a subject token (".", "*", ">", whitespace or control)`,
    );
  }
  return id;
}

/** True when {@link assertValidId} would accept the id. */
export function isValidId(id: unknown): id is string {
  return (
    typeof id === "string" &&
    id.length > 0 &&
    id.length <= MAX_ID_LENGTH &&
    !FORBIDDEN.test(id) &&
    !hasControl(id)
  );
}

/** The first token of `pattern` not allowed where it stands ({@link isEventKindPattern}). */
function badEventKindToken(pattern: string): string | undefined {
  const tokens = pattern.split(".");
  return tokens.find(
    (token, i) =>
      !(token === "*" || (token === ">" && i === tokens.length - 1) || isValidId(token)),
  );
}

/**
 * Whether `pattern` is a kind pattern of cluster events (master `--events-kinds`,
 * `agora events --kind`): dot-separated valid tokens, `*` for any one token,
 * `>` as the last token for the rest (`task.updated`, `agent.>`, `offer.*`).
 */
export function isEventKindPattern(pattern: string): boolean {
  return badEventKindToken(pattern) === undefined;
}

/**
 * The request-inbox prefix of a principal, `_INBOX_<principal>`: its replies
 * arrive on `_INBOX_<principal>.…`, which only its credential may subscribe to.
 */
export function inboxPrefixOf(principal: string): string {
  return `_INBOX_${assertValidId(principal, "principal")}`;
}

/** Kinds of cluster events; the subject is `<base>.events.<kind>`. */
export const ClusterEventKind = {
  AgentAdded: "agent.added",
  AgentRemoved: "agent.removed",
  AgentUnreachable: "agent.unreachable",
  AgentReregistered: "agent.reregistered",
  /** Deactivated, draining, drained or reactivated. */
  AgentUpdated: "agent.updated",
  FrameworkAdded: "framework.added",
  FrameworkRemoved: "framework.removed",
  FrameworkDisconnected: "framework.disconnected",
  /** `cluster.offersSent`: one event per up to 1,000 offers made. */
  OfferSent: "offer.sent",
  OfferRescinded: "offer.rescinded",
  OfferEnded: "offer.ended",
  TaskUpdated: "task.updated",
  Allocation: "allocation",
} as const;
export type ClusterEventKind = (typeof ClusterEventKind)[keyof typeof ClusterEventKind];

/** Builds every subject of one agora cluster (one prefix). */
export class Subjects {
  /** `<prefix>.v3` */
  readonly base: string;

  constructor(readonly prefix: string = DEFAULT_SUBJECT_PREFIX) {
    for (const token of prefix.split(".")) assertValidId(token, "subject prefix token");
    this.base = `${prefix}.v${SUBJECT_VERSION}`;
  }

  /**
   * Agent → master, request: first registration of an agent (no id yet) of
   * agent principal `principal` (the agent's credential, {@link DEFAULT_PRINCIPAL}
   * without one). The master records which principal registered each agent id.
   */
  masterRegister(principal: string = DEFAULT_PRINCIPAL): string {
    return `${this.base}.master.register.${assertValidId(principal, "principal")}`;
  }

  /** Wildcard the master subscribes to for every agent principal's registrations. */
  masterRegisterAll(): string {
    return `${this.base}.master.register.*`;
  }

  /**
   * Agent → master: reregister (request), heartbeat, status updates, executor
   * messages of agent `agentId` sent by agent principal `principal`.
   */
  masterAgent(agentId: string, principal: string = DEFAULT_PRINCIPAL): string {
    return `${this.base}.master.agent.${assertValidId(principal, "principal")}.${assertValidId(agentId, "agent id")}`;
  }

  /** Wildcard the master subscribes to for every agent. */
  masterAgentAll(): string {
    return `${this.base}.master.agent.*.*`;
  }

  /**
   * Scheduler → master, request: subscribe a new framework or resubscribe. The
   * principal must equal `FrameworkInfo.principal` (or {@link DEFAULT_PRINCIPAL}).
   */
  masterSubscribe(principal: string): string {
    return `${this.base}.master.subscribe.${assertValidId(principal, "principal")}`;
  }

  /** Wildcard the master subscribes to for every principal's subscribe requests. */
  masterSubscribeAll(): string {
    return `${this.base}.master.subscribe.*`;
  }

  /** Scheduler → master: every call of a subscribed framework of `principal`. */
  masterFramework(principal: string, frameworkId: string): string {
    return `${this.base}.master.framework.${assertValidId(principal, "principal")}.${assertValidId(frameworkId, "framework id")}`;
  }

  /** Wildcard the master subscribes to for every framework. */
  masterFrameworkAll(): string {
    return `${this.base}.master.framework.*.*`;
  }

  /**
   * Operator → one master, request: `operator.getState` answered by that master
   * whether it leads or stands by (a standby answers `leader: false` and who leads).
   */
  masterInstance(masterId: string): string {
    return `${this.base}.master.instance.${assertValidId(masterId, "master id")}`;
  }

  /**
   * Operator → the leading master, request: state, weights, quota, policy,
   * teardown, explain, sent by operator principal `principal` (the one the
   * master's ACLs check; {@link DEFAULT_PRINCIPAL}: unauthenticated).
   */
  masterOperator(principal: string = DEFAULT_PRINCIPAL): string {
    return `${this.base}.master.operator.${assertValidId(principal, "principal")}`;
  }

  /** Wildcard the master subscribes to for every operator principal's calls. */
  masterOperatorAll(): string {
    return `${this.base}.master.operator.*`;
  }

  /**
   * Master → agent: run, kill, acknowledge, framework messages, shutdown, on
   * `agent.<principal>.<agentId>`: `principal` is the agent principal that
   * registered the id (the master records it), so an agent credential reads
   * only the commands of its own principal's agents.
   */
  agent(agentId: string, principal: string = DEFAULT_PRINCIPAL): string {
    return `${this.base}.agent.${assertValidId(principal, "principal")}.${assertValidId(agentId, "agent id")}`;
  }

  /**
   * Wildcard for the command subjects of every agent of agent principal
   * `principal` (agent emulators serve many agents under one principal).
   */
  agentAll(principal: string = DEFAULT_PRINCIPAL): string {
    return `${this.base}.agent.${assertValidId(principal, "principal")}.*`;
  }

  /**
   * Executor → agent: subscribe (request), updates, messages, heartbeats of
   * executor `executorId` of agent `agentId` of agent principal `principal`.
   * Each message carries the executor's own token (header
   * {@link EXECUTOR_TOKEN_HEADER}), which the agent checks.
   */
  agentExecutor(
    agentId: string,
    frameworkId: string,
    executorId: string,
    principal: string = DEFAULT_PRINCIPAL,
  ): string {
    return `${this.agent(agentId, principal)}.executor.${assertValidId(frameworkId, "framework id")}.${assertValidId(executorId, "executor id")}`;
  }

  /** Wildcard an agent subscribes to for all its executors. */
  agentExecutorAll(agentId: string, principal: string = DEFAULT_PRINCIPAL): string {
    return `${this.agent(agentId, principal)}.executor.*.*`;
  }

  /**
   * Operator → agent, request: `files.read` of any task's sandbox `stdout` /
   * `stderr` (Mesos's `/files/read`); only operator credentials may publish
   * here. Not matched by `agentAll()` nor `agentExecutorAll()`.
   */
  agentFiles(agentId: string, principal: string = DEFAULT_PRINCIPAL): string {
    return `${this.agent(agentId, principal)}.files`;
  }

  /**
   * Framework → agent, request: `files.read` by framework principal
   * `requester` (the last token, which its credential may only fill with its
   * own name); the agent serves only tasks of frameworks of that principal.
   */
  agentFilesOf(agentId: string, requester: string, principal: string = DEFAULT_PRINCIPAL): string {
    return `${this.agentFiles(agentId, principal)}.${assertValidId(requester, "principal")}`;
  }

  /** Wildcard an agent subscribes to for the framework principals' `files.read`. */
  agentFilesOfAll(agentId: string, principal: string = DEFAULT_PRINCIPAL): string {
    return `${this.agentFiles(agentId, principal)}.*`;
  }

  /** The requesting framework principal of an `agentFilesOf` subject, or undefined. */
  parseAgentFilesOf(subject: string): string | undefined {
    const t = this.parse(subject);
    if (t?.length !== 5 || t[0] !== "agent" || t[3] !== "files") return undefined;
    return isValidId(t[4]) ? t[4] : undefined;
  }

  /** Master → scheduler: the event stream of a framework of `principal`. */
  framework(principal: string, frameworkId: string): string {
    return `${this.base}.framework.${assertValidId(principal, "principal")}.${assertValidId(frameworkId, "framework id")}`;
  }

  /**
   * Agent → executor: subscribed, launch, kill, acknowledged, messages,
   * shutdown, on `executor.<principal>.<agentId>.<frameworkId>.<executorId>`
   * (`principal`: the agent principal; its executor credential reads only there).
   */
  executor(
    agentId: string,
    frameworkId: string,
    executorId: string,
    principal: string = DEFAULT_PRINCIPAL,
  ): string {
    return `${this.base}.executor.${assertValidId(principal, "principal")}.${assertValidId(agentId, "agent id")}.${assertValidId(frameworkId, "framework id")}.${assertValidId(executorId, "executor id")}`;
  }

  /** Master → observers: one kind of cluster event. */
  event(kind: ClusterEventKind): string {
    return `${this.base}.events.${kind}`;
  }

  /** Wildcard for every cluster event. */
  eventsAll(): string {
    return `${this.base}.events.>`;
  }

  /**
   * Cluster events matching a kind pattern: a kind (`task.updated`), or a pattern with NATS
   * wildcards (`agent.>`, `offer.*`), as the history stream's subjects are configured.
   * @throws AgoraError INVALID_ID for an empty token or a character not allowed in a subject
   */
  eventsMatching(pattern: string): string {
    const bad = badEventKindToken(pattern);
    if (bad !== undefined) assertValidId(bad, "event kind");
    return `${this.base}.events.${pattern}`;
  }

  /** Master → policy actor, request: one allocation decision. */
  policy(name: string): string {
    return `${this.base}.policy.${assertValidId(name, "policy name")}`;
  }

  /**
   * The principal and framework id of a `masterFramework` subject, or undefined
   * when `subject` is not one (or carries an invalid token).
   */
  parseMasterFramework(subject: string): { principal: string; frameworkId: string } | undefined {
    const t = this.parse(subject);
    if (t?.length !== 4 || t[0] !== "master" || t[1] !== "framework") return undefined;
    const [, , principal, frameworkId] = t;
    return isValidId(principal) && isValidId(frameworkId) ? { principal, frameworkId } : undefined;
  }

  /** The principal of a `masterSubscribe` subject, or undefined when it is not one. */
  parseMasterSubscribe(subject: string): string | undefined {
    return this.#principalOf(subject, "subscribe");
  }

  /** The principal of a `masterOperator` subject, or undefined when it is not one. */
  parseMasterOperator(subject: string): string | undefined {
    return this.#principalOf(subject, "operator");
  }

  /** The principal of a `masterRegister` subject, or undefined when it is not one. */
  parseMasterRegister(subject: string): string | undefined {
    return this.#principalOf(subject, "register");
  }

  /**
   * The principal and agent id of a `masterAgent` subject, or undefined when
   * `subject` is not one (or carries an invalid token).
   */
  parseMasterAgent(subject: string): { principal: string; agentId: string } | undefined {
    const t = this.parse(subject);
    if (t?.length !== 4 || t[0] !== "master" || t[1] !== "agent") return undefined;
    const [, , principal, agentId] = t;
    return isValidId(principal) && isValidId(agentId) ? { principal, agentId } : undefined;
  }

  #principalOf(subject: string, kind: string): string | undefined {
    const t = this.parse(subject);
    if (t?.length !== 3 || t[0] !== "master" || t[1] !== kind) return undefined;
    return isValidId(t[2]) ? t[2] : undefined;
  }

  /** Subject tokens after the base, or undefined when the subject is not under it. */
  parse(subject: string): string[] | undefined {
    if (!subject.startsWith(`${this.base}.`)) return undefined;
    return subject.slice(this.base.length + 1).split(".");
  }
}
