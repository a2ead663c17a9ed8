import test, { type ExecutionContext } from "ava";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import {
  assertValidId,
  ClusterEventKind,
  DEFAULT_PRINCIPAL,
  DEFAULT_SUBJECT_PREFIX,
  isEventKindPattern,
  isValidId,
  PROTOCOL_VERSION,
  SUBJECT_VERSION,
  Subjects,
} from "../../../protocol/subjects.ts";

function throwsInvalidId(t: ExecutionContext, fn: () => unknown, label: string): void {
  const err = t.throws(fn, { instanceOf: AgoraError }, label);
  t.is(err?.code, ErrorCode.InvalidId, label);
}

const INVALID_IDS: ReadonlyArray<[string, string]> = [
  ["empty", ""],
  ["dot", "a.b"],
  ["leading dot", ".a"],
  ["star", "a*"],
  ["lone star", "*"],
  ["greater-than", "a>b"],
  ["lone greater-than", ">"],
  ["space", "a b"],
  ["tab", "a\tb"],
  ["newline", "a\nb"],
  ["carriage return", "a\rb"],
  ["NUL", "a\u0000b"],
  ["control character", "a\u0001b"],
  ["DEL", "a\u007fb"],
  ["non-breaking space", "a\u00a0b"],
  ["over 256 characters", "x".repeat(257)],
];

const VALID_IDS = [
  "a",
  "agent-1",
  "0b9f8c6e-1d2a-4f3b-8c7d-6e5f4a3b2c1d",
  "fw_1:2",
  "UPPER",
  "x".repeat(256),
  "ünïcödé",
];

// ---------------------------------------------------------------------------
// Builders

/** Every builder of Subjects with the subject it must produce under `base`. */
function expectations(s: Subjects, base: string): Array<[string, string, string]> {
  return [
    ["base", s.base, base],
    ["masterRegister", s.masterRegister("agents"), `${base}.master.register.agents`],
    ["masterRegister default", s.masterRegister(), `${base}.master.register.default`],
    ["masterRegisterAll", s.masterRegisterAll(), `${base}.master.register.*`],
    ["masterAgent", s.masterAgent("agent-1", "agents"), `${base}.master.agent.agents.agent-1`],
    ["masterAgent default", s.masterAgent("agent-1"), `${base}.master.agent.default.agent-1`],
    ["masterAgentAll", s.masterAgentAll(), `${base}.master.agent.*.*`],
    ["masterSubscribe", s.masterSubscribe("alice"), `${base}.master.subscribe.alice`],
    ["masterSubscribeAll", s.masterSubscribeAll(), `${base}.master.subscribe.*`],
    ["masterFramework", s.masterFramework("alice", "fw-1"), `${base}.master.framework.alice.fw-1`],
    ["masterFrameworkAll", s.masterFrameworkAll(), `${base}.master.framework.*.*`],
    ["masterOperator", s.masterOperator("ops"), `${base}.master.operator.ops`],
    ["masterOperator default", s.masterOperator(), `${base}.master.operator.default`],
    ["masterOperatorAll", s.masterOperatorAll(), `${base}.master.operator.*`],
    ["agent", s.agent("agent-1", "agents"), `${base}.agent.agents.agent-1`],
    ["agent default", s.agent("agent-1"), `${base}.agent.default.agent-1`],
    ["agentAll", s.agentAll("agents"), `${base}.agent.agents.*`],
    [
      "agentExecutor",
      s.agentExecutor("agent-1", "fw-1", "exec-1", "agents"),
      `${base}.agent.agents.agent-1.executor.fw-1.exec-1`,
    ],
    [
      "agentExecutorAll",
      s.agentExecutorAll("agent-1", "agents"),
      `${base}.agent.agents.agent-1.executor.*.*`,
    ],
    ["agentFiles", s.agentFiles("agent-1", "agents"), `${base}.agent.agents.agent-1.files`],
    [
      "agentFilesOf",
      s.agentFilesOf("agent-1", "alice", "agents"),
      `${base}.agent.agents.agent-1.files.alice`,
    ],
    [
      "agentFilesOfAll",
      s.agentFilesOfAll("agent-1", "agents"),
      `${base}.agent.agents.agent-1.files.*`,
    ],
    ["framework", s.framework("alice", "fw-1"), `${base}.framework.alice.fw-1`],
    [
      "executor",
      s.executor("agent-1", "fw-1", "exec-1", "agents"),
      `${base}.executor.agents.agent-1.fw-1.exec-1`,
    ],
    ["event", s.event(ClusterEventKind.TaskUpdated), `${base}.events.task.updated`],
    ["eventsAll", s.eventsAll(), `${base}.events.>`],
    ["policy", s.policy("drf"), `${base}.policy.drf`],
  ];
}

test("subjects - protocol version and default prefix", (t) => {
  t.is(PROTOCOL_VERSION, 1);
  t.is(SUBJECT_VERSION, 3);
  t.is(DEFAULT_SUBJECT_PREFIX, "agora");
  const s = new Subjects();
  t.is(s.prefix, "agora");
  t.is(s.base, "agora.v3");
});

test("subjects - every builder under the default prefix", (t) => {
  for (const [name, actual, expected] of expectations(new Subjects(), "agora.v3")) {
    t.is(actual, expected, name);
  }
});

test("subjects - every builder under a custom prefix", (t) => {
  const s = new Subjects("acme.prod");
  t.is(s.prefix, "acme.prod");
  for (const [name, actual, expected] of expectations(s, "acme.prod.v3")) {
    t.is(actual, expected, name);
  }
  // An explicit default prefix is the same as none.
  t.deepEqual(
    expectations(new Subjects("agora"), "agora.v3"),
    expectations(new Subjects(), "agora.v3"),
  );
});

test("subjects - one event subject per cluster event kind", (t) => {
  const s = new Subjects();
  const expected: Record<ClusterEventKind, string> = {
    "agent.added": "agora.v3.events.agent.added",
    "agent.removed": "agora.v3.events.agent.removed",
    "agent.unreachable": "agora.v3.events.agent.unreachable",
    "agent.reregistered": "agora.v3.events.agent.reregistered",
    "agent.updated": "agora.v3.events.agent.updated",
    "framework.added": "agora.v3.events.framework.added",
    "framework.removed": "agora.v3.events.framework.removed",
    "framework.disconnected": "agora.v3.events.framework.disconnected",
    "offer.sent": "agora.v3.events.offer.sent",
    "offer.rescinded": "agora.v3.events.offer.rescinded",
    "offer.ended": "agora.v3.events.offer.ended",
    "task.updated": "agora.v3.events.task.updated",
    allocation: "agora.v3.events.allocation",
  };
  t.deepEqual(Object.values(ClusterEventKind).sort(), Object.keys(expected).sort());
  for (const kind of Object.values(ClusterEventKind)) t.is(s.event(kind), expected[kind], kind);
  // Every event subject is matched by the events wildcard.
  for (const kind of Object.values(ClusterEventKind)) {
    t.true(s.event(kind).startsWith(s.eventsAll().slice(0, -1)), kind);
  }
});

test("subjects - wildcards match the subjects they stand for", (t) => {
  const s = new Subjects("acme.prod");
  const matches = (pattern: string, subject: string): boolean => {
    const p = pattern.split(".");
    const x = subject.split(".");
    for (let i = 0; i < p.length; i++) {
      if (p[i] === ">") return x.length > i;
      if (i >= x.length || (p[i] !== "*" && p[i] !== x[i])) return false;
    }
    return p.length === x.length;
  };
  t.true(matches(s.masterAgentAll(), s.masterAgent("a1", "agents")));
  t.false(matches(s.masterAgentAll(), s.masterRegister()));
  t.true(matches(s.masterRegisterAll(), s.masterRegister("agents")));
  t.true(matches(s.masterOperatorAll(), s.masterOperator("ops")));
  t.false(matches(s.masterOperatorAll(), s.masterInstance("m1")));
  t.true(matches(s.masterFrameworkAll(), s.masterFramework(DEFAULT_PRINCIPAL, "f1")));
  t.false(matches(s.masterFrameworkAll(), s.masterSubscribe(DEFAULT_PRINCIPAL)));
  t.true(matches(s.masterSubscribeAll(), s.masterSubscribe("bob")));
  t.true(matches(s.agentExecutorAll("a1"), s.agentExecutor("a1", "f1", "e1")));
  t.false(matches(s.agentExecutorAll("a1"), s.agentExecutor("a2", "f1", "e1")));
  t.false(matches(s.agentExecutorAll("a1", "p"), s.agentExecutor("a1", "f1", "e1", "q")));
  t.false(matches(s.agentExecutorAll("a1"), s.agent("a1")));
  t.true(matches(s.agentAll("p"), s.agent("a1", "p")));
  t.false(matches(s.agentAll("p"), s.agent("a1", "q")));
  // The files subjects reach no other agent subscription (nor an emulator's agent.<p>.*).
  t.false(matches(s.agentExecutorAll("a1"), s.agentFiles("a1")));
  t.false(matches(s.agentAll(), s.agentFiles("a1")));
  t.false(matches(s.agent("a1"), s.agentFiles("a1")));
  t.true(matches(s.agentFilesOfAll("a1"), s.agentFilesOf("a1", "alice")));
  t.false(matches(s.agentFilesOfAll("a1"), s.agentFiles("a1")));
  t.false(matches(s.agentAll(), s.agentFilesOf("a1", "alice")));
  t.false(matches(s.agentExecutorAll("a1"), s.agentFilesOf("a1", "alice")));
  t.true(matches(s.eventsAll(), s.event(ClusterEventKind.Allocation)));
  t.false(matches(new Subjects().eventsAll(), s.event(ClusterEventKind.Allocation)));
});

// ---------------------------------------------------------------------------
// parse

test("subjects - parse returns the tokens after the base", (t) => {
  for (const s of [new Subjects(), new Subjects("acme.prod")]) {
    t.deepEqual(s.parse(s.masterAgent("agent-1")), ["master", "agent", "default", "agent-1"]);
    t.deepEqual(s.parse(s.masterRegister()), ["master", "register", "default"]);
    t.deepEqual(s.parse(s.agentExecutor("a", "f", "e", "p")), [
      "agent",
      "p",
      "a",
      "executor",
      "f",
      "e",
    ]);
    t.deepEqual(s.parse(s.executor("a", "f", "e", "p")), ["executor", "p", "a", "f", "e"]);
    t.is(s.parseAgentFilesOf(s.agentFilesOf("a", "alice", "p")), "alice");
    t.is(s.parseAgentFilesOf(s.agentFiles("a", "p")), undefined);
    t.deepEqual(s.parse(s.event(ClusterEventKind.OfferSent)), ["events", "offer", "sent"]);
    t.deepEqual(s.parse(s.policy("drf")), ["policy", "drf"]);
  }
});

test("subjects - parse rejects subjects outside the base", (t) => {
  const s = new Subjects();
  t.is(s.parse("agora.v3"), undefined);
  t.is(s.parse("agora.v1.master.register"), undefined);
  t.is(s.parse("agora.v2.master.register"), undefined);
  t.is(s.parse("agora.v10.master.register"), undefined);
  t.is(s.parse("agora.v1x.master.register"), undefined);
  t.is(s.parse("other.v1.master.register"), undefined);
  t.is(s.parse(""), undefined);
  t.is(s.parse(new Subjects("acme.prod").masterRegister()), undefined);
  t.is(new Subjects("acme.prod").parse(s.masterRegister()), undefined);
  t.is(new Subjects("acme").parse("acme.prod.v1.master.register"), undefined);
});

test("subjects - parsers return the principal and framework id of scheduler subjects", (t) => {
  const s = new Subjects();
  t.deepEqual(s.parseMasterFramework(s.masterFramework("alice", "fw-1")), {
    principal: "alice",
    frameworkId: "fw-1",
  });
  t.is(s.parseMasterSubscribe(s.masterSubscribe("bob")), "bob");
  t.is(s.parseMasterFramework(s.masterSubscribe("bob")), undefined);
  t.is(s.parseMasterSubscribe(s.masterFramework("alice", "fw-1")), undefined);
  t.is(s.parseMasterFramework(`${s.base}.master.framework.fw-1`), undefined);
});

test("subjects - parsers return the principal of operator and agent subjects", (t) => {
  const s = new Subjects();
  t.is(s.parseMasterOperator(s.masterOperator("ops")), "ops");
  t.is(s.parseMasterRegister(s.masterRegister("agents")), "agents");
  t.deepEqual(s.parseMasterAgent(s.masterAgent("m1-S0", "agents")), {
    principal: "agents",
    agentId: "m1-S0",
  });
  t.is(s.parseMasterOperator(s.masterRegister("agents")), undefined);
  t.is(s.parseMasterRegister(s.masterOperator("ops")), undefined);
  t.is(s.parseMasterAgent(`${s.base}.master.agent.m1-S0`), undefined);
  t.is(s.parseMasterOperator(`${s.base}.master.operator`), undefined);
});

// ---------------------------------------------------------------------------
// Identifiers

test("subjects - assertValidId accepts valid ids and returns them", (t) => {
  for (const id of VALID_IDS) {
    t.is(assertValidId(id), id);
    t.true(isValidId(id), id);
  }
});

test("subjects - assertValidId rejects invalid ids with INVALID_ID", (t) => {
  for (const [label, id] of INVALID_IDS) {
    throwsInvalidId(t, () => assertValidId(id), label);
    t.false(isValidId(id), label);
  }
  t.false(isValidId(undefined));
  t.false(isValidId(42));
});

test("subjects - the error message names what was invalid", (t) => {
  const err = t.throws(() => assertValidId("a.b", "agent id"), { instanceOf: AgoraError });
  t.true(err?.message.includes("agent id"), err?.message);
  t.false(err?.retryable);
});

test("subjects - every builder that takes an id rejects invalid ids", (t) => {
  const s = new Subjects();
  const builders: Array<[string, (id: string) => string]> = [
    ["masterAgent", (id) => s.masterAgent(id)],
    ["masterAgent principal", (id) => s.masterAgent("a", id)],
    ["masterRegister principal", (id) => s.masterRegister(id)],
    ["masterOperator principal", (id) => s.masterOperator(id)],
    ["masterFramework", (id) => s.masterFramework(DEFAULT_PRINCIPAL, id)],
    ["masterFramework principal", (id) => s.masterFramework(id, "f")],
    ["masterSubscribe principal", (id) => s.masterSubscribe(id)],
    ["framework principal", (id) => s.framework(id, "f")],
    ["agent", (id) => s.agent(id)],
    ["agentExecutor agent", (id) => s.agentExecutor(id, "f", "e")],
    ["agentExecutor framework", (id) => s.agentExecutor("a", id, "e")],
    ["agentExecutor executor", (id) => s.agentExecutor("a", "f", id)],
    ["agentExecutorAll", (id) => s.agentExecutorAll(id)],
    ["framework", (id) => s.framework(DEFAULT_PRINCIPAL, id)],
    ["executor agent", (id) => s.executor(id, "f", "e")],
    ["executor framework", (id) => s.executor("a", id, "e")],
    ["executor executor", (id) => s.executor("a", "f", id)],
    ["agent principal", (id) => s.agent("a", id)],
    ["agentAll principal", (id) => s.agentAll(id)],
    ["agentExecutor principal", (id) => s.agentExecutor("a", "f", "e", id)],
    ["executor principal", (id) => s.executor("a", "f", "e", id)],
    ["agentFilesOf requester", (id) => s.agentFilesOf("a", id)],
    ["policy", (id) => s.policy(id)],
  ];
  for (const [name, build] of builders) {
    for (const [label, id] of INVALID_IDS) throwsInvalidId(t, () => build(id), `${name}: ${label}`);
    t.notThrows(() => build("x".repeat(256)), name);
  }
});

test("subjects - an invalid prefix is rejected with INVALID_ID", (t) => {
  const bad = [
    "",
    ".",
    "acme.",
    ".acme",
    "acme..prod",
    "acme prod",
    "acme*",
    "acme.*",
    "acme.>",
    ">",
    "ac\tme",
    "acme\n",
    `${"x".repeat(257)}`,
  ];
  for (const prefix of bad) {
    throwsInvalidId(t, () => new Subjects(prefix), JSON.stringify(prefix));
  }
  for (const prefix of ["a", "acme.prod", "acme.prod.eu-west-1", "x".repeat(256)]) {
    t.notThrows(() => new Subjects(prefix), prefix);
  }
});

test("subjects - event kind patterns: tokens, * anywhere, > only last; eventsMatching agrees", (t) => {
  const subjects = new Subjects();
  for (const pattern of ["task.updated", "agent.>", "offer.*", "*.added", ">", "*"]) {
    t.true(isEventKindPattern(pattern), pattern);
    t.is(subjects.eventsMatching(pattern), `${subjects.base}.events.${pattern}`);
  }
  for (const pattern of ["", "task..updated", ">.added", "agent.>.x", "task updated", "a.b>"]) {
    t.false(isEventKindPattern(pattern), pattern);
    throwsInvalidId(t, () => subjects.eventsMatching(pattern), pattern);
  }
});
