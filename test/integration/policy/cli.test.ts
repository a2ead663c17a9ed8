/**
 * `agora policy`, `agora weights` and `agora quota` as a user types them:
 * help, one-line errors with exit codes, and their effect on a live master.
 */
import test from "ava";
import { createPolicyHost } from "../../../actors/policy/host.ts";
import { connect } from "../../../infra/connect.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { drfPolicy } from "../../../policies/index.ts";
import { Subjects } from "../../../protocol/subjects.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { runAgora, startAgora } from "../cli/helpers.ts";
import { startMaster } from "../master/helpers.ts";

const nats = useNatsServer(test);

/** A URL where nothing listens. */
const NOWHERE = "nats://127.0.0.1:1";

function oneErrorLine(stderr: string): string {
  const lines = stderr.trim().split("\n");
  return lines.length === 1 && lines[0]!.startsWith("agora: ")
    ? lines[0]!
    : `not one line: ${stderr}`;
}

const helps: Array<[string[], RegExp]> = [
  [["policy", "--help"], /^Usage: agora policy <serve\|use>/],
  [["policy", "serve", "--help"], /^Usage: agora policy serve --name NAME --module PATH/],
  [["policy", "use", "--help"], /^Usage: agora policy use/],
  [["weights", "--help"], /^Usage: agora weights/],
  [["quota", "--help"], /^Usage: agora quota/],
];

for (const [args, usage] of helps) {
  test.serial(`policy cli - agora ${args.join(" ")} prints its usage, exit 0`, async (t) => {
    const r = await runAgora(args);
    t.is(r.code, 0, r.stderr);
    t.regex(r.stdout, usage);
    t.is(r.stderr, "");
  });
}

test("policy cli - agora --help lists policy, weights and quota", async (t) => {
  const r = await runAgora(["--help"]);
  for (const name of ["policy", "weights", "quota"])
    t.regex(r.stdout, new RegExp(`^  ${name} `, "m"));
});

const usageCases: Array<[string, string[], RegExp]> = [
  ["policy without a subcommand", ["policy"], /no subcommand/],
  ["an unknown policy subcommand", ["policy", "frob"], /unknown subcommand "frob"/],
  [
    "policy serve without --name",
    ["policy", "serve", "--module", "x.ts"],
    /--name NAME is required/,
  ],
  [
    "policy serve without --module",
    ["policy", "serve", "--name", "x"],
    /--module PATH is required/,
  ],
  ["a bad policy name", ["policy", "serve", "--name", "a.b", "--module", "x.ts"], /--name/],
  [
    "a module that does not load",
    ["policy", "serve", "--name", "x", "--module", "no/such/module.ts"],
    /--module: cannot load no\/such\/module\.ts/,
  ],
  ["policy use without NAME", ["policy", "use"], /no NAME given/],
  ["policy use with a bad NAME", ["policy", "use", "a b"], /not a valid policy name/],
  ["a weight without =", ["weights", "web"], /expected ROLE=WEIGHT/],
  ["a weight that is not a number", ["weights", "web=heavy"], /weight of web must be a number > 0/],
  ["a zero weight", ["weights", "web=0"], /must be a number > 0/],
  ["a bad role", ["weights", "we b=1"], /invalid role/],
  // one rule for roles (protocol/README.md "Key"): `.` inside a name is fine, a `..` component is not
  ["a role with a .. component", ["weights", "a/..=1"], /^agora: weights: invalid role "a\/\.\."$/],
  [
    "a quota of a bad role",
    ["quota", "a/..", "--remove"],
    /^agora: quota: invalid role "a\/\.\."$/,
  ],
  ["a bad quota resource", ["quota", "web", "--limit", "cpus:lots"], /--limit/],
  ["a quota change without role", ["quota", "--remove"], /no ROLE given/],
  ["--remove with a limit", ["quota", "web", "--remove", "--limit", "cpus:1"], /--remove cannot/],
  ["two roles", ["quota", "web", "db"], /expected one ROLE/],
];

for (const [what, args, message] of usageCases) {
  test.serial(`policy cli - ${what}: one line on stderr, exit 2`, async (t) => {
    const r = await runAgora([...args, "--nats", NOWHERE]);
    t.is(r.code, 2, r.stderr);
    t.regex(oneErrorLine(r.stderr), message);
    t.is(r.stdout, "");
  });
}

for (const args of [["weights"], ["quota"], ["policy", "use", "drf"]]) {
  test.serial(
    `policy cli - unreachable NATS: ${args.join(" ")} says so on one line, exit 1`,
    async (t) => {
      const r = await runAgora([...args, "--nats", NOWHERE], { timeoutMs: 30_000 });
      t.is(r.code, 1, r.stderr);
      t.regex(oneErrorLine(r.stderr), /NATS unreachable at nats:\/\/127\.0\.0\.1:1/);
    },
  );
}

test("policy cli - no master: one line naming the URL, exit 1", async (t) => {
  const r = await runAgora(["weights", "--nats", nats().url, "--prefix", "nomaster"]);
  t.is(r.code, 1, r.stderr);
  t.regex(oneErrorLine(r.stderr), /no master answered/);
});

test("policy cli - quota, weights and policy use change a running master", async (t) => {
  const url = nats().url;
  const subjects = new Subjects(`cli${process.pid}`);
  const m = await startMaster(url, subjects);
  t.teardown(() => m.stop());
  const agora = (...args: string[]) =>
    runAgora([...args, "--nats", url, "--prefix", subjects.prefix]);

  const set = await agora("quota", "web", "--guarantee", "cpus:1;mem:256", "--limit", "cpus:4");
  t.is(set.code, 0, set.stderr);
  t.regex(set.stderr, /quota of web set: guarantee cpus:1;mem:256, limit cpus:4/);
  t.deepEqual(m.master.state().roles.web?.quota, {
    guarantee: { cpus: 1, mem: 256 },
    limit: { cpus: 4 },
  });
  const all = await agora("quota");
  t.is(all.code, 0, all.stderr);
  t.deepEqual(JSON.parse(all.stdout), {
    web: { guarantee: { cpus: 1, mem: 256 }, limit: { cpus: 4 } },
  });
  const none = await agora("quota", "db");
  t.deepEqual(JSON.parse(none.stdout), { db: {} });
  // the master's own checks come back as one line: exit 2 for bad resources
  const over = await agora("quota", "web", "--guarantee", "cpus:8", "--limit", "cpus:4");
  t.is(over.code, 2, over.stderr);
  t.regex(oneErrorLine(over.stderr), /exceeds its limit/);
  const removed = await agora("quota", "web", "--remove");
  t.is(removed.code, 0, removed.stderr);
  t.deepEqual(JSON.parse((await agora("quota")).stdout), {});
  const notSet = await agora("quota", "nosuchrole", "--remove");
  t.is(notSet.code, 1, notSet.stderr);
  t.regex(oneErrorLine(notSet.stderr), /role nosuchrole has no quota/);

  t.is((await agora("weights", "web=3", "batch=0.5")).code, 0);
  t.deepEqual(JSON.parse((await agora("weights")).stdout), { web: 3, batch: 0.5 });

  // a name that is neither built in nor served by a policy actor is refused, and nothing changes
  const unknown = await agora("policy", "use", "nosuchpolicy");
  t.is(unknown.code, 1, unknown.stderr);
  t.regex(
    oneErrorLine(unknown.stderr),
    /no policy nosuchpolicy: it is not built in \(drf, priority\) and no policy actor answers/,
  );
  t.is(m.master.state().policy, "drf");

  const nc = await connect({ servers: url, name: "cli-test-policy" });
  t.teardown(() => nc.close());
  const host = createPolicyHost({
    nc,
    logger: silentLogger(),
    subjects,
    name: "elsewhere",
    policy: drfPolicy,
  });
  await host.start();
  t.teardown(() => host.stop());
  const use = await agora("policy", "use", "elsewhere");
  t.is(use.code, 0, use.stderr);
  t.is(m.master.state().policy, "elsewhere");
  t.is((await agora("policy", "use", "drf")).code, 0);
  t.is(m.master.state().policy, "drf");
});

test("policy cli - policy serve loads a TypeScript module from a directory outside the repo", async (t) => {
  const { mkdtemp, writeFile, rm } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  const path = await import("node:path");
  const dir = await mkdtemp(path.join(tmpdir(), "agora-policy-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, "mypol.ts");
  await writeFile(
    file,
    [
      'import type { AllocationPolicy } from "agora/policies";',
      'const policy: AllocationPolicy = { name: "mine", allocate: () => ({ allocations: [] }) };',
      "export default policy;",
    ].join("\n"),
  );
  const serve = startAgora(
    [
      "policy",
      "serve",
      "--name",
      "mine",
      "--module",
      file,
      "--nats",
      nats().url,
      "--prefix",
      `outside${process.pid}`,
    ],
    { env: { AGORA_LOG_LEVEL: "info" } },
  );
  t.teardown(() => serve.child.kill("SIGKILL"));
  const started = await serve.stderr.waitFor(
    (line) => line.includes("policy actor started") || line.startsWith("agora: "),
    { timeoutMs: 30_000, what: "the policy actor's start" },
  );
  t.regex(started, /policy actor started/);
  serve.child.kill("SIGINT");
  t.is((await serve.result).code, 0);
});
