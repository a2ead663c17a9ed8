/**
 * The scenario format of `agora simulate` (a stable contract, documented in
 * the README): JSON with the cluster's roles, agents, frameworks and their
 * behaviour, and timed steps. {@link parseScenario} validates a scenario
 * against the TypeBox schemas below and resolves it (durations to ms,
 * resource strings to {@link Resources}); every error names the JSON path at
 * fault (`steps[3].do: unknown action "explode"`), or the line and column of
 * a JSON syntax error.
 */
import { type Static, type TSchema, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { DEFAULT_ALLOCATION_INTERVAL_MS, DEFAULT_POLICY } from "../infra/defaults.ts";
import { parseDuration } from "../infra/durations.ts";
import { isQuantities } from "../policies/quantities.ts";
import { Attributes, Id, ResourcesJson, Role } from "../protocol/common.ts";
import { AgoraError, ErrorCode } from "../protocol/errors.ts";
import { Resources } from "../protocol/resources.ts";

const strict = { additionalProperties: false } as const;

/** `"2s"`, `"500ms"`, `"1m"`, or a number of seconds. */
const Duration = Type.Union([Type.String(), Type.Number({ minimum: 0 })]);
/** `"cpus:2;mem:1024;cpus(web):1"` or `{"cpus": 2, "mem": 1024, "cpus(web)": 1}`. */
const ResourceSpec = Type.Union([Type.String(), ResourcesJson]);
const RefuseSeconds = Type.Number({ minimum: 0 });

const QuotaFields = {
  guarantee: Type.Optional(ResourceSpec),
  limit: Type.Optional(ResourceSpec),
  borrowingLimit: Type.Optional(ResourceSpec),
  lendingLimit: Type.Optional(ResourceSpec),
};
const QuotaSpec = Type.Object(QuotaFields, strict);

const RoleSpec = Type.Object(
  {
    weight: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    priority: Type.Optional(Type.Number()),
    quota: Type.Optional(QuotaSpec),
  },
  strict,
);

const AgentSpec = Type.Object(
  { id: Id, resources: ResourceSpec, attributes: Type.Optional(Attributes) },
  strict,
);

const AcceptAll = Type.Object({ accept: Type.Literal("all") }, strict);
const AcceptNone = Type.Object(
  { accept: Type.Literal("none"), refuseSeconds: Type.Optional(RefuseSeconds) },
  strict,
);
const TaskBehaviour = Type.Object(
  {
    task: ResourceSpec,
    tasksPerOffer: Type.Optional(Type.Integer({ minimum: 1 })),
    maxTasks: Type.Optional(Type.Integer({ minimum: 0 })),
    refuseSeconds: Type.Optional(RefuseSeconds),
  },
  strict,
);

const FrameworkFields = {
  id: Id,
  roles: Type.Optional(Type.Array(Role, { minItems: 1 })),
  /** For the `priority` policy (higher first; default 0). */
  priority: Type.Optional(Type.Number()),
  behaviour: Type.Unknown(),
};
const FrameworkSpec = Type.Object(FrameworkFields, strict);

const at = { at: Duration, do: Type.String() };
const frameworkRef = { framework: Id };

/** The arguments of each step action. */
const ACTIONS = {
  addAgent: Type.Object({ ...at, ...AgentSpec.properties }, strict),
  removeAgent: Type.Object({ ...at, agent: Id }, strict),
  addFramework: Type.Object({ ...at, ...FrameworkFields }, strict),
  removeFramework: Type.Object({ ...at, ...frameworkRef }, strict),
  decline: Type.Object(
    { ...at, ...frameworkRef, agent: Id, refuseSeconds: Type.Optional(RefuseSeconds) },
    strict,
  ),
  returnResources: Type.Object({ ...at, ...frameworkRef, agent: Type.Optional(Id) }, strict),
  finishTasks: Type.Object(
    {
      ...at,
      ...frameworkRef,
      agent: Type.Optional(Id),
      count: Type.Optional(Type.Integer({ minimum: 1 })),
    },
    strict,
  ),
  suppress: Type.Object({ ...at, ...frameworkRef, roles: Type.Optional(Type.Array(Role)) }, strict),
  revive: Type.Object({ ...at, ...frameworkRef, roles: Type.Optional(Type.Array(Role)) }, strict),
  setWeight: Type.Object(
    { ...at, role: Role, weight: Type.Number({ exclusiveMinimum: 0 }) },
    strict,
  ),
  setQuota: Type.Object({ ...at, role: Role, ...QuotaFields }, strict),
  setPriority: Type.Object({ ...at, role: Role, priority: Type.Number() }, strict),
  /** Prints why the framework receives nothing (or less) now: an `explain` line. */
  explain: Type.Object({ ...at, ...frameworkRef, role: Type.Optional(Role) }, strict),
  /**
   * Operator resource operations on an agent (`operator.reserveResources`
   * ...): `resources` dynamically reserved (`cpus(db,ops,team=a):2`),
   * `volumes` persistent (`disk(db,ops)[pg:data]:1024`); `principal`: the caller's.
   */
  reserve: Type.Object(
    { ...at, agent: Id, resources: ResourceSpec, principal: Type.Optional(Id) },
    strict,
  ),
  unreserve: Type.Object(
    { ...at, agent: Id, resources: ResourceSpec, principal: Type.Optional(Id) },
    strict,
  ),
  createVolume: Type.Object(
    { ...at, agent: Id, volumes: ResourceSpec, principal: Type.Optional(Id) },
    strict,
  ),
  destroyVolume: Type.Object(
    { ...at, agent: Id, volumes: ResourceSpec, principal: Type.Optional(Id) },
    strict,
  ),
  /** `operator.drainAgent`: `deadline` and `maxGracePeriod` as durations. */
  drainAgent: Type.Object(
    {
      ...at,
      agent: Id,
      deadline: Type.Optional(Duration),
      maxGracePeriod: Type.Optional(Duration),
      markGone: Type.Optional(Type.Boolean()),
    },
    strict,
  ),
  deactivateAgent: Type.Object({ ...at, agent: Id }, strict),
  reactivateAgent: Type.Object({ ...at, agent: Id }, strict),
  /** Replaces the maintenance schedule; `start` is scenario time, `duration` absent: indefinitely. */
  scheduleMaintenance: Type.Object(
    {
      ...at,
      windows: Type.Array(
        Type.Object(
          {
            agents: Type.Array(Id, { minItems: 1 }),
            start: Duration,
            duration: Type.Optional(Duration),
          },
          strict,
        ),
      ),
    },
    strict,
  ),
  /** The framework declares `count` demands of `resources` (`scheduler.request`), replacing its others. */
  request: Type.Object(
    {
      ...at,
      ...frameworkRef,
      role: Type.Optional(Role),
      resources: ResourceSpec,
      count: Type.Optional(Type.Integer({ minimum: 0, maximum: 64 })),
    },
    strict,
  ),
  /**
   * The framework declares a gang (`scheduler.requestGang`): `members` tasks of
   * `resources`, one per agent with `spread`, placed whole within `timeout` or
   * not at all. The framework launches one task per member on the gang's offers.
   */
  requestGang: Type.Object(
    {
      ...at,
      ...frameworkRef,
      gang: Id,
      role: Type.Optional(Role),
      members: Type.Integer({ minimum: 1, maximum: 1000 }),
      resources: ResourceSpec,
      spread: Type.Optional(Type.Boolean()),
      timeout: Duration,
    },
    strict,
  ),
  /** Switches preemption on or off (`agora preemption on|off`). */
  setPreemption: Type.Object({ ...at, enabled: Type.Boolean() }, strict),
} as const;

/** The step actions. */
export type ActionName = keyof typeof ACTIONS;
export const ACTION_NAMES = Object.keys(ACTIONS) as ActionName[];

const StepHead = Type.Object({ at: Duration, do: Type.String() });

/** The scenario file, as written. */
export const ScenarioSchema = Type.Object(
  {
    /** Time between batch allocations (default `1s`). */
    allocationInterval: Type.Optional(Duration),
    /** The allocation policy (default `drf`). */
    policy: Type.Optional(Type.String()),
    /** How long the simulation runs. */
    until: Duration,
    /** Outstanding offers are rescinded after this (default: never). */
    offerTimeout: Type.Optional(Duration),
    /** Whether preemption is on from the start (the master's `--preemption`; default false). */
    preemption: Type.Optional(Type.Boolean()),
    /** Share of each resource that waiting gangs may hold (the master's `--gang-hold-fraction`, 0.5). */
    gangHoldFraction: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    /** After a gang times out, its framework's gangs hold nothing for this (`--gang-backoff`, 30s). */
    gangBackoff: Type.Optional(Duration),
    roles: Type.Optional(Type.Record(Type.String(), RoleSpec)),
    agents: Type.Optional(Type.Array(AgentSpec)),
    frameworks: Type.Optional(Type.Array(FrameworkSpec)),
    steps: Type.Optional(Type.Array(Type.Object({}))),
  },
  strict,
);
export type ScenarioJson = Static<typeof ScenarioSchema>;

/** How a simulated framework answers offers. */
export type Behaviour =
  | { kind: "acceptAll" }
  | { kind: "acceptNone"; refuseSeconds: number | undefined }
  | {
      kind: "tasks";
      task: Resources;
      tasksPerOffer: number | undefined;
      maxTasks: number | undefined;
      refuseSeconds: number | undefined;
    };

export interface AgentPlan {
  id: string;
  resources: Resources;
  attributes: Attributes;
}

export interface FrameworkPlan {
  id: string;
  roles: string[];
  priority: number | undefined;
  behaviour: Behaviour;
}

export interface QuotaPlan {
  guarantee: Resources | undefined;
  limit: Resources | undefined;
  borrowingLimit?: Resources | undefined;
  lendingLimit?: Resources | undefined;
}

export interface RolePlan {
  weight: number | undefined;
  priority: number | undefined;
  quota: QuotaPlan | undefined;
}

/** One resolved step; `path` names it in errors (`steps[3]`). */
export type StepPlan = { at: number; path: string } & (
  | { do: "addAgent"; agent: AgentPlan }
  | { do: "removeAgent"; agent: string }
  | { do: "addFramework"; framework: FrameworkPlan }
  | { do: "removeFramework"; framework: string }
  | { do: "decline"; framework: string; agent: string; refuseSeconds: number | undefined }
  | { do: "returnResources"; framework: string; agent: string | undefined }
  | { do: "finishTasks"; framework: string; agent: string | undefined; count: number | undefined }
  | { do: "suppress" | "revive"; framework: string; roles: string[] | undefined }
  | { do: "setWeight"; role: string; weight: number }
  | { do: "setQuota"; role: string; quota: QuotaPlan }
  | { do: "setPriority"; role: string; priority: number }
  | { do: "explain"; framework: string; role: string | undefined }
  | {
      do: "reserve" | "unreserve" | "createVolume" | "destroyVolume";
      agent: string;
      resources: Resources;
      principal: string | undefined;
    }
  | {
      do: "drainAgent";
      agent: string;
      deadline: number | undefined;
      maxGracePeriod: number | undefined;
      markGone: boolean;
    }
  | { do: "deactivateAgent" | "reactivateAgent"; agent: string }
  | {
      do: "scheduleMaintenance";
      windows: Array<{ agents: string[]; start: number; duration: number | undefined }>;
    }
  | {
      do: "request";
      framework: string;
      role: string | undefined;
      resources: Resources;
      count: number;
    }
  | { do: "setPreemption"; enabled: boolean }
  | {
      do: "requestGang";
      framework: string;
      gang: string;
      role: string | undefined;
      members: number;
      resources: Resources;
      spread: boolean;
      timeout: number;
    }
);

/** A validated scenario, times in ms. */
export interface Scenario {
  allocationInterval: number;
  policy: string;
  until: number;
  offerTimeout: number;
  preemption: boolean;
  gangHoldFraction: number | undefined;
  gangBackoff: number | undefined;
  roles: Record<string, RolePlan>;
  agents: AgentPlan[];
  frameworks: FrameworkPlan[];
  steps: StepPlan[];
}

function invalid(path: string, message: string): AgoraError {
  return new AgoraError(ErrorCode.InvalidConfig, path === "" ? message : `${path}: ${message}`);
}

/** A JSON pointer (`/steps/3/do`) as a path (`steps[3].do`). */
function pathOf(pointer: string, prefix = ""): string {
  let out = prefix;
  for (const raw of pointer.split("/").slice(1)) {
    const token = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    if (/^\d+$/.test(token)) out += `[${token}]`;
    else out += out === "" ? token : `.${token}`;
  }
  return out;
}

/** Checks `value` against `schema`; the first error names its path. */
function check(schema: TSchema, value: unknown, prefix: string): void {
  const error = Value.Errors(schema, value).First();
  if (error === undefined) return;
  const path = pathOf(error.path, prefix);
  const message =
    error.message === "Unexpected property" ? "unknown field" : error.message.toLowerCase();
  throw invalid(path, message);
}

function duration(value: string | number, path: string): number {
  try {
    return parseDuration(value, "duration");
  } catch (err) {
    throw invalid(path, (err as Error).message);
  }
}

function resources(value: string | ResourcesJson, path: string): Resources {
  try {
    return typeof value === "string" ? Resources.parse(value) : Resources.fromJSON(value);
  } catch (err) {
    throw invalid(path, (err as Error).message);
  }
}

function quota(
  spec: {
    guarantee?: string | ResourcesJson;
    limit?: string | ResourcesJson;
    borrowingLimit?: string | ResourcesJson;
    lendingLimit?: string | ResourcesJson;
  },
  path: string,
): QuotaPlan {
  const part = (value: string | ResourcesJson | undefined, name: string) => {
    if (value === undefined) return undefined;
    const r = resources(value, `${path}.${name}`);
    if (!isQuantities(r)) throw invalid(`${path}.${name}`, "quota takes unreserved scalars");
    return r;
  };
  return {
    guarantee: part(spec.guarantee, "guarantee"),
    limit: part(spec.limit, "limit"),
    borrowingLimit: part(spec.borrowingLimit, "borrowingLimit"),
    lendingLimit: part(spec.lendingLimit, "lendingLimit"),
  };
}

function behaviour(value: unknown, path: string): Behaviour {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalid(path, 'expected {"accept": "all"}, {"accept": "none"} or {"task": ...}');
  }
  if ("task" in value) {
    check(TaskBehaviour, value, path);
    const b = value as Static<typeof TaskBehaviour>;
    const task = resources(b.task, `${path}.task`);
    if (!isQuantities(task) || task.isEmpty()) {
      throw invalid(`${path}.task`, "a task shape is unreserved scalars, e.g. cpus:1;mem:128");
    }
    return {
      kind: "tasks",
      task,
      tasksPerOffer: b.tasksPerOffer,
      maxTasks: b.maxTasks,
      refuseSeconds: b.refuseSeconds,
    };
  }
  if ("accept" in value) {
    const accept = (value as { accept: unknown }).accept;
    if (accept === "all") {
      check(AcceptAll, value, path);
      return { kind: "acceptAll" };
    }
    if (accept === "none") {
      check(AcceptNone, value, path);
      return {
        kind: "acceptNone",
        refuseSeconds: (value as Static<typeof AcceptNone>).refuseSeconds,
      };
    }
    throw invalid(`${path}.accept`, `expected "all" or "none", got ${JSON.stringify(accept)}`);
  }
  throw invalid(path, 'expected {"accept": "all"}, {"accept": "none"} or {"task": ...}');
}

function agentPlan(spec: Static<typeof AgentSpec>, path: string): AgentPlan {
  return {
    id: spec.id,
    resources: resources(spec.resources, `${path}.resources`),
    attributes: spec.attributes ?? {},
  };
}

function frameworkPlan(
  spec: { id: string; roles?: string[]; priority?: number; behaviour: unknown },
  path: string,
): FrameworkPlan {
  if (spec.behaviour === undefined) throw invalid(`${path}.behaviour`, "is required");
  return {
    id: spec.id,
    roles: spec.roles ?? ["*"],
    priority: spec.priority,
    behaviour: behaviour(spec.behaviour, `${path}.behaviour`),
  };
}

function stepPlan(raw: unknown, path: string): StepPlan {
  check(StepHead, raw, path);
  const head = raw as Static<typeof StepHead>;
  const action = head.do;
  if (!Object.hasOwn(ACTIONS, action)) {
    throw invalid(
      `${path}.do`,
      `unknown action ${JSON.stringify(action)} (known: ${ACTION_NAMES.join(", ")})`,
    );
  }
  const name = action as ActionName;
  check(ACTIONS[name], raw, path);
  const when = { at: duration(head.at, `${path}.at`), path };
  const step = raw as Record<string, unknown>;
  switch (name) {
    case "addAgent":
      return { ...when, do: name, agent: agentPlan(raw as Static<typeof AgentSpec>, path) };
    case "addFramework":
      return {
        ...when,
        do: name,
        framework: frameworkPlan(raw as Static<typeof FrameworkSpec>, path),
      };
    case "removeAgent":
      return { ...when, do: name, agent: step.agent as string };
    case "removeFramework":
      return { ...when, do: name, framework: step.framework as string };
    case "decline":
      return {
        ...when,
        do: name,
        framework: step.framework as string,
        agent: step.agent as string,
        refuseSeconds: step.refuseSeconds as number | undefined,
      };
    case "returnResources":
      return {
        ...when,
        do: name,
        framework: step.framework as string,
        agent: step.agent as string | undefined,
      };
    case "finishTasks":
      return {
        ...when,
        do: name,
        framework: step.framework as string,
        agent: step.agent as string | undefined,
        count: step.count as number | undefined,
      };
    case "suppress":
    case "revive":
      return {
        ...when,
        do: name,
        framework: step.framework as string,
        roles: step.roles as string[] | undefined,
      };
    case "setWeight":
      return { ...when, do: name, role: step.role as string, weight: step.weight as number };
    case "explain":
      return {
        ...when,
        do: name,
        framework: step.framework as string,
        role: step.role as string | undefined,
      };
    case "setQuota":
      return {
        ...when,
        do: name,
        role: step.role as string,
        quota: quota(step as { guarantee?: string; limit?: string }, path),
      };
    case "setPriority":
      return { ...when, do: name, role: step.role as string, priority: step.priority as number };
    case "reserve":
    case "unreserve":
    case "createVolume":
    case "destroyVolume": {
      const field = name === "reserve" || name === "unreserve" ? "resources" : "volumes";
      return {
        ...when,
        do: name,
        agent: step.agent as string,
        resources: resources(step[field] as string | ResourcesJson, `${path}.${field}`),
        principal: step.principal as string | undefined,
      };
    }
    case "drainAgent":
      return {
        ...when,
        do: name,
        agent: step.agent as string,
        deadline:
          step.deadline === undefined
            ? undefined
            : duration(step.deadline as string | number, `${path}.deadline`),
        maxGracePeriod:
          step.maxGracePeriod === undefined
            ? undefined
            : duration(step.maxGracePeriod as string | number, `${path}.maxGracePeriod`),
        markGone: step.markGone === true,
      };
    case "deactivateAgent":
    case "reactivateAgent":
      return { ...when, do: name, agent: step.agent as string };
    case "scheduleMaintenance": {
      const windows = step.windows as Array<{
        agents: string[];
        start: string | number;
        duration?: string | number;
      }>;
      return {
        ...when,
        do: name,
        windows: windows.map((w, i) => ({
          agents: w.agents,
          start: duration(w.start, `${path}.windows[${i}].start`),
          duration:
            w.duration === undefined
              ? undefined
              : duration(w.duration, `${path}.windows[${i}].duration`),
        })),
      };
    }
    case "request": {
      const r = resources(step.resources as string | ResourcesJson, `${path}.resources`);
      if (!isQuantities(r) || r.isEmpty()) {
        throw invalid(`${path}.resources`, "a demand is unreserved scalars, e.g. cpus:1;mem:128");
      }
      return {
        ...when,
        do: name,
        framework: step.framework as string,
        role: step.role as string | undefined,
        resources: r,
        count: (step.count as number | undefined) ?? 1,
      };
    }
    case "setPreemption":
      return { ...when, do: name, enabled: step.enabled as boolean };
    case "requestGang": {
      const r = resources(step.resources as string | ResourcesJson, `${path}.resources`);
      if (!isQuantities(r) || r.isEmpty()) {
        throw invalid(
          `${path}.resources`,
          "a gang member is unreserved scalars, e.g. cpus:1;mem:128",
        );
      }
      const timeout = duration(step.timeout as string | number, `${path}.timeout`);
      if (!(timeout > 0)) throw invalid(`${path}.timeout`, "must be a positive duration");
      return {
        ...when,
        do: name,
        framework: step.framework as string,
        gang: step.gang as string,
        role: step.role as string | undefined,
        members: step.members as number,
        resources: r,
        spread: step.spread === true,
        timeout,
      };
    }
  }
}

/** Checks that steps name agents and frameworks the scenario has. */
function checkReferences(scenario: Scenario): void {
  const agents = new Set<string>();
  const frameworks = new Set<string>();
  scenario.agents.forEach((a, i) => {
    if (agents.has(a.id)) throw invalid(`agents[${i}].id`, `duplicate agent id "${a.id}"`);
    agents.add(a.id);
  });
  scenario.frameworks.forEach((f, i) => {
    if (frameworks.has(f.id)) {
      throw invalid(`frameworks[${i}].id`, `duplicate framework id "${f.id}"`);
    }
    frameworks.add(f.id);
  });
  for (const step of scenario.steps) {
    if (step.do === "addAgent") {
      if (agents.has(step.agent.id)) {
        throw invalid(`${step.path}.id`, `duplicate agent id "${step.agent.id}"`);
      }
      agents.add(step.agent.id);
    } else if (step.do === "addFramework") {
      if (frameworks.has(step.framework.id)) {
        throw invalid(`${step.path}.id`, `duplicate framework id "${step.framework.id}"`);
      }
      frameworks.add(step.framework.id);
    }
  }
  for (const step of scenario.steps) {
    if ("framework" in step && typeof step.framework === "string") {
      if (!frameworks.has(step.framework)) {
        throw invalid(`${step.path}.framework`, `unknown framework "${step.framework}"`);
      }
    }
    if ("agent" in step && typeof step.agent === "string" && !agents.has(step.agent)) {
      throw invalid(`${step.path}.agent`, `unknown agent "${step.agent}"`);
    }
    if (step.do === "scheduleMaintenance") {
      step.windows.forEach((w, i) => {
        w.agents.forEach((id, j) => {
          if (!agents.has(id)) {
            throw invalid(`${step.path}.windows[${i}].agents[${j}]`, `unknown agent "${id}"`);
          }
        });
      });
    }
  }
}

/**
 * Validates and resolves a scenario given as a JS value.
 * @throws AgoraError INVALID_CONFIG naming the path at fault
 */
export function resolveScenario(value: unknown): Scenario {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalid("", "a scenario is a JSON object");
  }
  check(ScenarioSchema, value, "");
  const json = value as ScenarioJson;
  const roles: Record<string, RolePlan> = {};
  for (const [role, spec] of Object.entries(json.roles ?? {})) {
    const path = `roles.${role}`;
    check(Role, role, path);
    roles[role] = {
      weight: spec.weight,
      priority: spec.priority,
      quota: spec.quota === undefined ? undefined : quota(spec.quota, `${path}.quota`),
    };
  }
  const steps = (json.steps ?? []).map((raw, i) => stepPlan(raw, `steps[${i}]`));
  const scenario: Scenario = {
    allocationInterval:
      json.allocationInterval === undefined
        ? DEFAULT_ALLOCATION_INTERVAL_MS
        : duration(json.allocationInterval, "allocationInterval"),
    policy: json.policy ?? DEFAULT_POLICY,
    until: duration(json.until, "until"),
    offerTimeout: json.offerTimeout === undefined ? 0 : duration(json.offerTimeout, "offerTimeout"),
    preemption: json.preemption ?? false,
    gangHoldFraction: json.gangHoldFraction,
    gangBackoff:
      json.gangBackoff === undefined ? undefined : duration(json.gangBackoff, "gangBackoff"),
    roles,
    agents: (json.agents ?? []).map((a, i) => agentPlan(a, `agents[${i}]`)),
    frameworks: (json.frameworks ?? []).map((f, i) => frameworkPlan(f, `frameworks[${i}]`)),
    // stable: steps at the same time keep their order
    steps: steps
      .map((step, index) => ({ step, index }))
      .sort((a, b) => a.step.at - b.step.at || a.index - b.index)
      .map((x) => x.step),
  };
  if (!(scenario.allocationInterval > 0)) {
    throw invalid("allocationInterval", "must be a positive duration");
  }
  checkReferences(scenario);
  return scenario;
}

/** The line and column of a character offset in `text`. */
function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { line, column: offset - before.lastIndexOf("\n") };
}

/**
 * Parses and validates a scenario file's text.
 * @throws AgoraError INVALID_CONFIG naming the line (syntax) or the path at fault
 */
export function parseScenario(text: string): Scenario {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const position = /at position (\d+)/.exec(message);
    if (position !== null) {
      const { line, column } = lineAndColumn(text, Number(position[1]));
      const reason = message.replace(/\s*in JSON at position \d+.*$/, "");
      throw invalid(`line ${line}, column ${column}`, `invalid JSON: ${reason}`);
    }
    const lineMatch = /line (\d+) column (\d+)/.exec(message);
    if (lineMatch !== null) {
      throw invalid(`line ${lineMatch[1]}, column ${lineMatch[2]}`, `invalid JSON: ${message}`);
    }
    const end = lineAndColumn(text, text.length);
    throw invalid(`line ${end.line}`, `invalid JSON: ${message}`);
  }
  return resolveScenario(value);
}
