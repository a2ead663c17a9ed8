/**
 * Per subject of `subjects.ts`: the message types accepted there
 * ({@link ACCEPTED_TYPES}, the lists every actor and the bench emulator serve)
 * and its parser ({@link SubjectParsers}: the ids a subject carries, read
 * through the subject's own builder, so no handler reads subjects by token
 * index). The builders themselves stay in `subjects.ts`.
 */
import { AgoraError, ErrorCode } from "./errors.ts";
import type { MessageOf, MessageType } from "./registry.ts";
import { DEFAULT_PRINCIPAL, isValidId, type Subjects } from "./subjects.ts";

/**
 * The message types accepted on each subject, by the name of its builder in
 * {@link Subjects}. A message of any other type is answered (or counted) as
 * invalid by `serve()`.
 */
export const ACCEPTED_TYPES = {
  /** Agent → master: the first registration. */
  masterRegister: ["agent.register"],
  /** Agent → master: everything after registration. */
  masterAgent: [
    "agent.reregister",
    "agent.heartbeat",
    "agent.update",
    "agent.message",
    "agent.usage",
  ],
  /** Scheduler → master: subscribe or resubscribe. */
  masterSubscribe: ["scheduler.subscribe"],
  /** Scheduler → master: the calls of a subscribed framework. */
  masterFramework: [
    "scheduler.accept",
    "scheduler.decline",
    "scheduler.revive",
    "scheduler.suppress",
    "scheduler.kill",
    "scheduler.request",
    "scheduler.requestGang",
    "scheduler.withdrawGang",
    "scheduler.acceptGang",
    "scheduler.acknowledge",
    "scheduler.reconcile",
    "scheduler.message",
    "scheduler.heartbeat",
    "scheduler.teardown",
    "scheduler.acceptInverseOffers",
    "scheduler.declineInverseOffers",
  ],
  /** Operator → the leading master. */
  masterOperator: [
    "operator.getState",
    "operator.getWeights",
    "operator.setWeights",
    "operator.getPriorities",
    "operator.setPriorities",
    "operator.getQuota",
    "operator.setQuota",
    "operator.removeQuota",
    "operator.usePolicy",
    "operator.updatePreemption",
    "operator.teardown",
    "operator.explain",
    "operator.reserveResources",
    "operator.unreserveResources",
    "operator.createVolumes",
    "operator.destroyVolumes",
    "operator.drainAgent",
    "operator.deactivateAgent",
    "operator.reactivateAgent",
    "operator.updateMaintenanceSchedule",
    "operator.getMaintenanceSchedule",
  ],
  /** Operator → one master, leading or standing by. */
  masterInstance: ["operator.getState"],
  /** Master → agent: commands. */
  agent: [
    "agent.runTask",
    "agent.runTaskGroup",
    "agent.killTask",
    "agent.acknowledge",
    "agent.frameworkMessage",
    "agent.shutdownFramework",
    "agent.shutdown",
    "agent.reregisterRequest",
    "agent.checkpointResources",
  ],
  /** Executor → its agent. */
  agentExecutor: [
    "executor.subscribe",
    "executor.update",
    "executor.message",
    "executor.heartbeat",
  ],
  /** Operator → agent: reading a sandbox's output files. */
  agentFiles: ["files.read"],
  /** A framework principal → agent: reading its own tasks' sandbox files. */
  agentFilesOf: ["files.read"],
  /** Master → scheduler: a framework's events. */
  framework: [
    "event.subscribed",
    "event.offers",
    "event.rescind",
    "event.update",
    "event.message",
    "event.failure",
    "event.error",
    "event.heartbeat",
    "event.resubscribe",
    "event.inverseOffers",
    "event.rescindInverseOffer",
    "event.gangTimedOut",
  ],
  /** Agent → executor. */
  executor: [
    "executor.launch",
    "executor.launchGroup",
    "executor.kill",
    "executor.acknowledged",
    "executor.frameworkMessage",
    "executor.shutdown",
    "executor.reconnect",
  ],
  /** Master → a policy actor. */
  policy: ["policy.ping", "policy.allocate"],
} as const satisfies { [R in keyof Subjects]?: readonly MessageType[] };

/** The type names accepted on the subject of builder `R` ({@link ACCEPTED_TYPES}). */
export type AcceptedType<R extends keyof typeof ACCEPTED_TYPES> =
  (typeof ACCEPTED_TYPES)[R][number];
/** A message accepted on the subject of builder `R`. */
export type AcceptedMessage<R extends keyof typeof ACCEPTED_TYPES> = MessageOf<AcceptedType<R>>;

/** A subject layout read from its builder: literal tokens, and the names of the id tokens. */
class Template<K extends string> {
  readonly #tokens: readonly string[];
  /** Each id token's name and position, in subject order. */
  readonly #ids: ReadonlyArray<readonly [K, number]>;

  /** `build` called with `{name}` placeholders in place of the ids. */
  constructor(base: string, names: readonly K[], build: (ids: Record<K, string>) => string) {
    const placeholders = Object.fromEntries(names.map((n) => [n, `{${n}}`])) as Record<K, string>;
    const subject = build(placeholders);
    this.#tokens = subject.split(".");
    // a builder whose principal was left to its default would make the parser
    // match that principal only: every principal token must be a placeholder
    if (
      subject
        .slice(base.length + 1)
        .split(".")
        .includes(DEFAULT_PRINCIPAL)
    ) {
      throw new AgoraError(
        ErrorCode.Internal,
        `subject layout ${subject} has the default principal as a fixed token: give the parser a principal placeholder`,
      );
    }
    this.#ids = names
      .map((n) => [n, this.#tokens.indexOf(placeholders[n])] as const)
      .sort((a, b) => a[1] - b[1]);
    for (const [n, at] of this.#ids) {
      if (at < 0) {
        throw new AgoraError(ErrorCode.Internal, `subject layout without its ${n} token`);
      }
    }
  }

  /** The ids of `subject`, or undefined when it is not of this layout or an id is invalid. */
  match(subject: string): Record<K, string> | undefined {
    const tokens = subject.split(".");
    if (tokens.length !== this.#tokens.length) return undefined;
    const ids = {} as Record<K, string>;
    let next = 0;
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i] as string;
      const id = this.#ids[next];
      if (id !== undefined && id[1] === i) {
        if (!isValidId(token)) return undefined;
        ids[id[0]] = token;
        next++;
      } else if (token !== this.#tokens[i]) {
        return undefined;
      }
    }
    return ids;
  }
}

function template<K extends string>(
  subjects: Subjects,
  names: readonly K[],
  build: (ids: Record<K, string>) => string,
): Template<K> {
  return new Template(subjects.base, names, build);
}

const made = new WeakMap<Subjects, SubjectParsers>();

/**
 * The parsers of one cluster's subjects (one prefix): each returns the ids a
 * subject of that builder carries, or undefined when the subject is not one
 * (another layout, another prefix, or an id that cannot be a subject token).
 */
export class SubjectParsers {
  readonly #agent: Template<"principal" | "agentId">;
  readonly #agentExecutor: Template<"principal" | "agentId" | "frameworkId" | "executorId">;
  readonly #agentFiles: Template<"principal" | "agentId">;
  readonly #agentFilesOf: Template<"principal" | "agentId" | "requester">;
  readonly #executor: Template<"principal" | "agentId" | "frameworkId" | "executorId">;
  readonly #framework: Template<"principal" | "frameworkId">;
  readonly #masterInstance: Template<"masterId">;
  readonly #policy: Template<"name">;

  /** The parsers of `subjects`, made once per {@link Subjects} (a handler may ask on every message). */
  static of(subjects: Subjects): SubjectParsers {
    let parsers = made.get(subjects);
    if (parsers === undefined) {
      parsers = new SubjectParsers(subjects);
      made.set(subjects, parsers);
    }
    return parsers;
  }

  constructor(readonly subjects: Subjects) {
    this.#agent = template(subjects, ["principal", "agentId"], (t) =>
      subjects.agent(t.agentId, t.principal),
    );
    this.#agentExecutor = template(
      subjects,
      ["principal", "agentId", "frameworkId", "executorId"],
      (t) => subjects.agentExecutor(t.agentId, t.frameworkId, t.executorId, t.principal),
    );
    this.#agentFiles = template(subjects, ["principal", "agentId"], (t) =>
      subjects.agentFiles(t.agentId, t.principal),
    );
    this.#agentFilesOf = template(subjects, ["principal", "agentId", "requester"], (t) =>
      subjects.agentFilesOf(t.agentId, t.requester, t.principal),
    );
    this.#executor = template(
      subjects,
      ["principal", "agentId", "frameworkId", "executorId"],
      (t) => subjects.executor(t.agentId, t.frameworkId, t.executorId, t.principal),
    );
    this.#framework = template(subjects, ["principal", "frameworkId"], (t) =>
      subjects.framework(t.principal, t.frameworkId),
    );
    this.#masterInstance = template(subjects, ["masterId"], (t) =>
      subjects.masterInstance(t.masterId),
    );
    this.#policy = template(subjects, ["name"], (t) => subjects.policy(t.name));
  }

  /** `masterRegister(principal)`. */
  masterRegister(subject: string): { principal: string } | undefined {
    const principal = this.subjects.parseMasterRegister(subject);
    return principal === undefined ? undefined : { principal };
  }

  /** `masterAgent(agentId, principal)`. */
  masterAgent(subject: string): { principal: string; agentId: string } | undefined {
    return this.subjects.parseMasterAgent(subject);
  }

  /** `masterSubscribe(principal)`. */
  masterSubscribe(subject: string): { principal: string } | undefined {
    const principal = this.subjects.parseMasterSubscribe(subject);
    return principal === undefined ? undefined : { principal };
  }

  /** `masterFramework(principal, frameworkId)`. */
  masterFramework(subject: string): { principal: string; frameworkId: string } | undefined {
    return this.subjects.parseMasterFramework(subject);
  }

  /** `masterOperator(principal)`. */
  masterOperator(subject: string): { principal: string } | undefined {
    const principal = this.subjects.parseMasterOperator(subject);
    return principal === undefined ? undefined : { principal };
  }

  /** `masterInstance(masterId)`. */
  masterInstance(subject: string): { masterId: string } | undefined {
    return this.#masterInstance.match(subject);
  }

  /** `agent(agentId, principal)`. */
  agent(subject: string): { principal: string; agentId: string } | undefined {
    return this.#agent.match(subject);
  }

  /** `agentExecutor(agentId, frameworkId, executorId, principal)`. */
  agentExecutor(
    subject: string,
  ): { principal: string; agentId: string; frameworkId: string; executorId: string } | undefined {
    return this.#agentExecutor.match(subject);
  }

  /** `agentFiles(agentId, principal)`: an operator's read. */
  agentFiles(subject: string): { principal: string; agentId: string } | undefined {
    return this.#agentFiles.match(subject);
  }

  /** `agentFilesOf(agentId, requester, principal)`: a framework principal's read. */
  agentFilesOf(
    subject: string,
  ): { principal: string; agentId: string; requester: string } | undefined {
    return this.#agentFilesOf.match(subject);
  }

  /** `framework(principal, frameworkId)`. */
  framework(subject: string): { principal: string; frameworkId: string } | undefined {
    return this.#framework.match(subject);
  }

  /** `executor(agentId, frameworkId, executorId, principal)`. */
  executor(
    subject: string,
  ): { principal: string; agentId: string; frameworkId: string; executorId: string } | undefined {
    return this.#executor.match(subject);
  }

  /** `policy(name)`. */
  policy(subject: string): { name: string } | undefined {
    return this.#policy.match(subject);
  }
}
