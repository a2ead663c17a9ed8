/**
 * `agora dev` as a user runs it: it comes up, other commands work against it,
 * and Ctrl-C stops everything it started (nats-server, executors, tasks).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import test from "ava";
import { tempDir } from "../../helpers/temp-dir.ts";
import { eventually } from "../../helpers/wait.ts";
import { alive, runAgora, startAgora } from "./helpers.ts";

const execFileAsync = promisify(execFile);

/** Every descendant of `pid` (children, grandchildren, ...), from `ps`. */
async function descendants(pid: number): Promise<number[]> {
  const { stdout } = await execFileAsync("ps", ["-e", "-o", "pid=,ppid="]);
  const children = new Map<number, number[]>();
  for (const line of stdout.trim().split("\n")) {
    const [child, parent] = line.trim().split(/\s+/).map(Number);
    if (child === undefined || parent === undefined) continue;
    const list = children.get(parent) ?? [];
    list.push(child);
    children.set(parent, list);
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

test("agora dev - comes up, serves agora state and run, and Ctrl-C leaves nothing running", async (t) => {
  const work = await tempDir("agora-dev-");
  t.teardown(() => work.remove());
  // --nats-port 0: a random port, so that a developer's own `agora dev` on 4222 is not disturbed.
  const dev = startAgora(
    ["dev", "--nats-port", "0", "--agents", "1", "--agent-resources", "cpus:2;mem:1024"],
    {
      cwd: work.dir,
    },
  );
  t.teardown(() => dev.child.kill("SIGKILL"));
  const ready = await dev.stdout.waitFor((line) => line.includes("ready"), {
    timeoutMs: 30_000,
    what: "the ready line",
  });
  const url = /nats:\/\/[\d.]+:\d+/.exec(ready)?.[0];
  t.truthy(url, ready);
  t.true(dev.stdout.items.some((l) => l.includes(`export AGORA_NATS_URL=${url}`)));
  const uiLine = await dev.stdout.waitFor((line) => line.includes("web UI:"), {
    timeoutMs: 5_000,
    what: "the web UI's address",
  });
  const uiUrl = /http:\/\/[\d.]+:\d+\/ui\//.exec(uiLine)?.[0];
  t.truthy(uiUrl, uiLine);
  // the UI learns of the agent from the event stream
  await eventually(async () => {
    const snapshot = (await (await fetch(`${uiUrl}api/snapshot`)).json()) as { agents: unknown[] };
    return snapshot.agents.length === 1;
  }, "the UI to see the agent");

  const state = await runAgora(["state", "--nats", url!]);
  t.is(state.code, 0, state.stderr);
  const parsed = JSON.parse(state.stdout) as {
    agents: Array<{ hostname: string; resources: Record<string, unknown>; free?: unknown }>;
  };
  t.deepEqual(
    parsed.agents.map((a) => a.hostname),
    ["agent-1"],
  );
  // --agent-resources gives cpus and mem; disk and ports are detected and added (protocol/README)
  const agent = parsed.agents[0]!;
  t.like(agent.resources, { cpus: 2, mem: 1024 });
  t.true(typeof agent.resources.disk === "number" && agent.resources.disk > 0, "detected disk");
  t.true(Array.isArray(agent.resources.ports), "detected ports");
  t.truthy(agent.free, "the state shows each agent's free resources");

  // A task that would run for a long time: Ctrl-C on dev must take it down too.
  const run = startAgora(["run", "--nats", url!, "--", "sleep", "300"]);
  t.teardown(() => run.child.kill("SIGKILL"));
  await run.stderr.waitFor((line) => line.includes("TASK_RUNNING"), { timeoutMs: 30_000 });

  const pids = await descendants(dev.child.pid!);
  t.true(pids.length >= 3, `nats-server, executor and task: ${pids.join(",")}`);
  dev.child.kill("SIGINT");
  const result = await dev.result;
  t.is(result.code, 0, result.stderr);
  await eventually(() => pids.every((pid) => !alive(pid)), `${pids.join(",")} gone`, 10_000);
  t.pass();
});

test("agora dev - an explicit --nats-port that is taken is an error, not another port", async (t) => {
  const { createServer } = await import("node:net");
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  t.teardown(() => blocker.close());
  const port = (blocker.address() as { port: number }).port;
  const work = await tempDir("agora-dev-port-");
  t.teardown(() => work.remove());
  // its own AGORA_HOME: the other test of this file writes the dev credentials at the same time
  const r = await runAgora(["dev", "--nats-port", String(port), "--agents", "0"], {
    cwd: work.dir,
    env: { AGORA_HOME: work.dir },
    timeoutMs: 30_000,
  });
  t.is(r.code, 2, r.stderr);
  t.regex(
    r.stderr.trim(),
    new RegExp(`^agora: dev: --nats-port ${port}: the embedded nats-server cannot listen there`),
  );
  t.is(r.stderr.trim().split("\n").length, 1, r.stderr);
});
