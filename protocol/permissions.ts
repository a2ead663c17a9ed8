/**
 * What each kind of principal may publish and subscribe to, derived from the
 * subject builders of protocol/subjects.ts (the one source: a builder called
 * with {@link WILDCARD_ID} yields the pattern with `*` in that token).
 * `agora auth` turns these into the nats-server `authorization` block.
 */
import { inboxPrefixOf, type Subjects } from "./subjects.ts";

/** The kinds of principals of a cluster (DESIGN §7). */
export const PrincipalKind = {
  /** Runs operator calls: state, weights, quota, policy, files of tasks. */
  Operator: "operator",
  /** A master (leader or standby). */
  Master: "master",
  /** An agent class: every agent started with this credential. */
  Agent: "agent",
  /** The executors of one agent principal's agents (never the agents' credential). */
  Executor: "executor",
  /** A framework principal: every framework whose FrameworkInfo.principal is this name. */
  Framework: "framework",
  /** An allocation policy actor serving `policy.<name>`. */
  Policy: "policy",
  /** Reads cluster events, nothing else. */
  Observer: "observer",
  /** `agora dev`'s command-line user: operator, the `default` framework principal, policy actors. */
  Cli: "cli",
} as const;
export type PrincipalKind = (typeof PrincipalKind)[keyof typeof PrincipalKind];

/** One principal of a cluster. */
export interface PrincipalSpec {
  /** The principal's name, one subject token (its inboxes are `_INBOX_<name>.>`). */
  name: string;
  kind: PrincipalKind;
  /** Framework principals: the roles it may use (recorded for the master's ACLs). */
  roles?: string[];
  /** Policy principals: the policy name it serves. Default: `name`. */
  policy?: string;
  /**
   * Executor principals: the agent principal whose executors use it; they may
   * speak only on that principal's executor subjects. Absent (a directory of
   * before subject layout 3): the executors of every agent principal.
   */
  agent?: string;
}

/** Publish and subscribe allow lists of one principal, in nats-server terms. */
export interface Permissions {
  publish: string[];
  subscribe: string[];
  /** Whether it may answer requests sent to it (nats-server `allow_responses`). */
  allowResponses: boolean;
}

/** The id builders are called with to get a `*` token. */
const WILDCARD_ID = "__any__";

function wild(subject: string): string {
  return subject
    .split(".")
    .map((t) => (t === WILDCARD_ID ? "*" : t))
    .join(".");
}

/** The JetStream API: consumers of the event history stream and KV reads, for operators. */
const JETSTREAM_API = "$JS.API.>";

/** JetStream API and KV subjects a master uses for its registry and leader lease. */
const JETSTREAM_PUBLISH = ["$JS.API.>", "$KV.>", "$JS.ACK.>", "$JS.FC.>"];

/** The permissions of `p` in the cluster of `subjects`. */
export function permissionsFor(subjects: Subjects, p: PrincipalSpec): Permissions {
  const W = WILDCARD_ID;
  const inbox = `${inboxPrefixOf(p.name)}.>`;
  const frameworkOf = (principal: string): Permissions => ({
    publish: [
      subjects.masterSubscribe(principal),
      wild(subjects.masterFramework(principal, W)),
      // files.read of its own frameworks' tasks: the agent checks the last token owns the task
      wild(subjects.agentFilesOf(W, principal, W)),
    ],
    subscribe: [wild(subjects.framework(principal, W)), inbox],
    allowResponses: false,
  });
  // an operator principal calls only on its own subject: the master's ACLs check that name
  const operator: Permissions = {
    publish: [
      subjects.masterOperator(p.name),
      wild(subjects.masterInstance(W)),
      // files.read of any task (the framework principals' subject ends with their name)
      wild(subjects.agentFiles(W, W)),
      // the event history (`agora events --since`) and the registry's leader key (the web UI)
      JETSTREAM_API,
    ],
    subscribe: [subjects.eventsAll(), inbox],
    allowResponses: false,
  };
  switch (p.kind) {
    case PrincipalKind.Operator:
      return operator;
    case PrincipalKind.Framework:
      return frameworkOf(p.name);
    case PrincipalKind.Cli: {
      const fw = frameworkOf("default");
      // and serves policies (`agora policy serve` against `agora dev`)
      return {
        publish: [...operator.publish, ...fw.publish.filter((s) => !operator.publish.includes(s))],
        subscribe: [...fw.subscribe, subjects.eventsAll(), wild(subjects.policy(W))],
        allowResponses: true,
      };
    }
    case PrincipalKind.Observer:
      return { publish: [], subscribe: [subjects.eventsAll()], allowResponses: false };
    case PrincipalKind.Policy:
      return {
        publish: [],
        subscribe: [subjects.policy(p.policy ?? p.name)],
        allowResponses: true,
      };
    case PrincipalKind.Master:
      return {
        publish: [
          wild(subjects.agent(W, W)),
          wild(subjects.framework(W, W)),
          subjects.eventsAll(),
          wild(subjects.policy(W)),
          ...JETSTREAM_PUBLISH,
        ],
        subscribe: [
          subjects.masterRegisterAll(),
          subjects.masterAgentAll(),
          subjects.masterSubscribeAll(),
          subjects.masterFrameworkAll(),
          subjects.masterOperatorAll(),
          wild(subjects.masterInstance(W)),
          inbox,
        ],
        allowResponses: true,
      };
    case PrincipalKind.Agent:
      return {
        // only under its own principal: the master records which principal registered an agent id
        publish: [
          subjects.masterRegister(p.name),
          wild(subjects.masterAgent(W, p.name)),
          wild(subjects.executor(W, W, W, p.name)),
        ],
        subscribe: [
          subjects.agentAll(p.name),
          wild(subjects.agentExecutorAll(W, p.name)),
          wild(subjects.agentFiles(W, p.name)),
          wild(subjects.agentFilesOfAll(W, p.name)),
          inbox,
        ],
        allowResponses: true,
      };
    case PrincipalKind.Executor: {
      // its agent principal's executor subjects; the agent tells its executors apart by their tokens
      const agent = p.agent ?? W;
      return {
        publish: [wild(subjects.agentExecutor(W, W, W, agent))],
        subscribe: [wild(subjects.executor(W, W, W, agent)), inbox],
        allowResponses: false,
      };
    }
  }
}

/** One row of the permission table: principal × subject × publish/subscribe. */
export interface PermissionRow {
  principal: string;
  kind: PrincipalKind;
  subject: string;
  publish: boolean;
  subscribe: boolean;
}

/** The permission table of a set of principals. */
export function permissionTable(
  subjects: Subjects,
  principals: readonly PrincipalSpec[],
): PermissionRow[] {
  const rows: PermissionRow[] = [];
  for (const p of principals) {
    const perm = permissionsFor(subjects, p);
    const all = [...new Set([...perm.publish, ...perm.subscribe])];
    for (const subject of all) {
      rows.push({
        principal: p.name,
        kind: p.kind,
        subject,
        publish: perm.publish.includes(subject),
        subscribe: perm.subscribe.includes(subject),
      });
    }
    if (perm.allowResponses) {
      rows.push({
        principal: p.name,
        kind: p.kind,
        subject: "(reply subjects of requests it received)",
        publish: true,
        subscribe: false,
      });
    }
  }
  return rows;
}

/** The table as Markdown. */
export function permissionTableMarkdown(rows: readonly PermissionRow[]): string {
  const lines = ["| principal | kind | subject | publish | subscribe |", "|---|---|---|---|---|"];
  for (const r of rows) {
    lines.push(
      `| ${r.principal} | ${r.kind} | \`${r.subject}\` | ${r.publish ? "yes" : ""} | ${r.subscribe ? "yes" : ""} |`,
    );
  }
  return `${lines.join("\n")}\n`;
}
