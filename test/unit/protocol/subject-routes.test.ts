import test from "ava";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import { MESSAGE_TYPES } from "../../../protocol/registry.ts";
import { ACCEPTED_TYPES, SubjectParsers } from "../../../protocol/subject-routes.ts";
import { DEFAULT_PRINCIPAL, Subjects } from "../../../protocol/subjects.ts";

const subjects = new Subjects("acme.prod");
const parse = new SubjectParsers(subjects);

test("subject routes - each parser reads back the ids its builder put in", (t) => {
  t.deepEqual(parse.agent(subjects.agent("a-1", "rack")), { principal: "rack", agentId: "a-1" });
  t.deepEqual(parse.agentExecutor(subjects.agentExecutor("a-1", "f/2", "e:3", "rack")), {
    principal: "rack",
    agentId: "a-1",
    frameworkId: "f/2",
    executorId: "e:3",
  });
  t.deepEqual(parse.agentFiles(subjects.agentFiles("a-1", "rack")), {
    principal: "rack",
    agentId: "a-1",
  });
  t.deepEqual(parse.agentFilesOf(subjects.agentFilesOf("a-1", "alice", "rack")), {
    principal: "rack",
    agentId: "a-1",
    requester: "alice",
  });
  t.deepEqual(parse.executor(subjects.executor("a-1", "f-2", "e-3", "rack")), {
    principal: "rack",
    agentId: "a-1",
    frameworkId: "f-2",
    executorId: "e-3",
  });
  t.deepEqual(parse.framework(subjects.framework("alice", "f-2")), {
    principal: "alice",
    frameworkId: "f-2",
  });
  t.deepEqual(parse.masterInstance(subjects.masterInstance("m-1")), { masterId: "m-1" });
  t.deepEqual(parse.policy(subjects.policy("binpack")), { name: "binpack" });
  t.deepEqual(parse.masterRegister(subjects.masterRegister("ops")), { principal: "ops" });
  t.deepEqual(parse.masterAgent(subjects.masterAgent("a-1", "ops")), {
    principal: "ops",
    agentId: "a-1",
  });
  t.deepEqual(parse.masterSubscribe(subjects.masterSubscribe("alice")), { principal: "alice" });
  t.deepEqual(parse.masterFramework(subjects.masterFramework("alice", "f-2")), {
    principal: "alice",
    frameworkId: "f-2",
  });
  t.deepEqual(parse.masterOperator(subjects.masterOperator("root")), { principal: "root" });
});

test("subject routes - a subject of another layout, route or prefix is not parsed", (t) => {
  // the files subject and an executor's subject are under agent.<id> but are not agent(id)
  t.is(parse.agent(subjects.agentFiles("a-1")), undefined);
  t.is(parse.agent(subjects.agentExecutor("a-1", "f", "e")), undefined);
  t.is(parse.agentExecutor(subjects.agent("a-1")), undefined);
  t.is(parse.agentFiles(subjects.agent("a-1")), undefined);
  t.is(parse.executor(subjects.agentExecutor("a-1", "f", "e")), undefined);
  t.is(parse.framework(subjects.masterFramework("alice", "f")), undefined);
  t.is(parse.agent(new Subjects("other").agent("a-1")), undefined);
  t.is(parse.agent("acme.prod.v1.agent.a-1"), undefined);
  t.is(parse.policy("acme.prod.v2.policy"), undefined);
  // the wildcards the actors subscribe to are not concrete subjects
  t.is(parse.agent(subjects.agentAll()), undefined);
  t.is(parse.agentExecutor(subjects.agentExecutorAll("a-1")), undefined);
  t.is(parse.masterAgent(subjects.masterAgentAll()), undefined);
});

test("subject routes - every accepted type is a message type of the registry, once per subject", (t) => {
  for (const [route, types] of Object.entries(ACCEPTED_TYPES)) {
    t.true(typeof (subjects as unknown as Record<string, unknown>)[route] === "function", route);
    t.is(new Set(types).size, types.length, `${route} lists a type twice`);
    for (const type of types) t.true(MESSAGE_TYPES.includes(type), `${route}: ${type}`);
  }
});

test("subject routes - a layout with a defaulted principal token is refused, not parsed for that principal only", (t) => {
  // what a builder that gained a principal (defaulted) looks like to a parser not told about it
  class PrincipalAgents extends Subjects {
    override agent(agentId: string, _principal = DEFAULT_PRINCIPAL): string {
      return `${this.base}.agent.${DEFAULT_PRINCIPAL}.${agentId}`;
    }
  }
  const err = t.throws(() => new SubjectParsers(new PrincipalAgents()), { instanceOf: AgoraError });
  t.is(err?.code, ErrorCode.Internal);
});
