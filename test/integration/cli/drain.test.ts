/**
 * `agora drain`, `agora undrain`, `agora deactivate` and `agora maintenance`
 * as a user types them, against a master and a real agent (real task
 * processes) on the test's own nats-server.
 */
import anyTest, { type TestFn } from "ava";
import { closeGracefully, connect } from "../../../infra/connect.ts";
import type { MessageOf } from "../../../protocol/registry.ts";
import { type ClusterContext, useCluster } from "../../helpers/cluster.ts";
import { unbatch } from "../../helpers/messages.ts";
import { Inbox } from "../master/helpers.ts";
import { runAgora, startAgora } from "./helpers.ts";

const test = anyTest as TestFn<
  ClusterContext & {
    agentId: string;
    updates: Inbox<MessageOf<"cluster.agentUpdated">>;
    stopEvents: () => Promise<void>;
  }
>;

test.serial.after.always(async (t) => {
  await t.context.stopEvents?.();
});
useCluster(test, {
  prefix: "clidrain",
  agents: [{ hostname: "drain-1", resources: "cpus:4;mem:4096" }],
});
test.serial.before(async (t) => {
  const { server, cluster, subjects } = t.context;
  const agentId = cluster.agents[0]!.agent.agentId();
  if (agentId === undefined) throw new Error("the agent did not register");
  const nc = await connect({ servers: server.url, name: "drain-test-events" });
  const updates = new Inbox<MessageOf<"cluster.agentUpdated">>();
  const sub = nc.subscribe(subjects.event("agent.updated"));
  void (async () => {
    for await (const m of sub) {
      for (const msg of unbatch(m.data)) {
        if (msg.type === "cluster.agentUpdated") updates.push(msg);
      }
    }
  })();
  await nc.flush();
  t.context.agentId = agentId;
  t.context.updates = updates;
  t.context.stopEvents = () => closeGracefully(nc);
});

test.serial(
  "agora drain - kills the running task with REASON_AGENT_DRAINING; DRAINED; undrain offers it again",
  async (t) => {
    const { args, agentId, updates } = t.context;
    const run = startAgora(["run", ...args, "--resources", "cpus:1;mem:64", "--", "sleep", "300"]);
    await run.stderr.waitFor((l) => /TASK_RUNNING/.test(l), { what: "the task runs" });
    const from = updates.items.length;

    const drain = await runAgora(["drain", ...args, "--max-grace-period", "1s", agentId]);
    t.is(drain.code, 0, drain.stderr);
    t.regex(
      drain.stdout,
      new RegExp(`^agent ${agentId} draining: no new offers, its tasks are being killed$`, "m"),
    );

    const ended = await run.result;
    t.regex(
      ended.stderr,
      /TASK_KILLED: the agent is draining: Command terminated with signal SIGTERM/,
    );
    t.not(ended.code, 0);
    await updates.waitFor(
      (u) => u.drain?.state === "DRAINED",
      "the agent is drained",
      undefined,
      from,
    );

    const state = JSON.parse((await runAgora(["state", ...args])).stdout) as {
      agents: Array<{ id: string; deactivated?: boolean; drain?: { state: string } }>;
    };
    t.like(
      state.agents.find((a) => a.id === agentId),
      { deactivated: true, drain: { state: "DRAINED" } },
    );

    const undrain = await runAgora(["undrain", ...args, agentId]);
    t.is(undrain.code, 0, undrain.stderr);
    t.is(undrain.stdout, `agent ${agentId} reactivated\n`);
    const again = await runAgora(["run", ...args, "--", "echo", "back"]);
    t.is(again.code, 0, again.stderr);
    t.regex(again.stdout, /^back$/m);
  },
);

test.serial("agora deactivate / undrain - the state shows it; the tasks stay", async (t) => {
  const { args, agentId } = t.context;
  const r = await runAgora(["deactivate", ...args, agentId]);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, `agent ${agentId} deactivated: no new offers\n`);
  const state = JSON.parse((await runAgora(["state", ...args])).stdout) as {
    agents: Array<{ id: string; deactivated?: boolean; drain?: unknown }>;
  };
  t.like(state.agents[0], { id: agentId, deactivated: true });
  t.is(state.agents[0]?.drain, undefined);
  t.is((await runAgora(["undrain", ...args, agentId])).code, 0);
});

test.serial("agora maintenance - add shows the window; clear empties the schedule", async (t) => {
  const { args } = t.context;
  const add = await runAgora([
    "maintenance",
    "add",
    ...args,
    "--machines",
    "drain-1",
    "--start",
    "1h",
    "--duration",
    "30m",
  ]);
  t.is(add.code, 0, add.stderr);
  t.regex(add.stdout, /^maintenance window added from \S+ for 1800s \(1 in the schedule\)$/m);
  const shown = JSON.parse((await runAgora(["maintenance", ...args])).stdout) as {
    windows: Array<{ machines: unknown[]; unavailability: { durationMs?: number } }>;
  };
  t.is(shown.windows.length, 1);
  t.is(shown.windows[0]?.unavailability.durationMs, 1_800_000);
  const state = JSON.parse((await runAgora(["state", ...args])).stdout) as {
    agents: Array<{ unavailability?: { durationMs?: number } }>;
  };
  t.is(state.agents[0]?.unavailability?.durationMs, 1_800_000, "the agent shows its window");
  t.is((await runAgora(["maintenance", "clear", ...args])).code, 0);
  const cleared = JSON.parse((await runAgora(["maintenance", ...args])).stdout) as {
    windows: unknown[];
  };
  t.deepEqual(cleared.windows, []);
});

test("agora drain / undrain / maintenance - mistakes get one line and a non-zero exit", async (t) => {
  const { args, agentId } = t.context;
  const none = await runAgora(["drain", ...args]);
  t.is(none.code, 2);
  t.is(none.stderr.trim().split("\n").length, 1, none.stderr);
  t.regex(none.stderr, /expected one AGENT_ID/);
  const unknown = await runAgora(["drain", ...args, "nosuch-S9"]);
  t.not(unknown.code, 0);
  t.regex(unknown.stderr, /agent nosuch-S9 is not known/);
  const negative = await runAgora(["drain", ...args, "--deadline", "-5s", agentId]);
  t.is(negative.code, 2);
  t.regex(negative.stderr, /--deadline/);
  const active = await runAgora(["undrain", ...args, agentId]);
  t.not(active.code, 0);
  t.regex(active.stderr, new RegExp(`agent ${agentId} is not deactivated`));
  const noStart = await runAgora(["maintenance", "add", ...args, "--machines", "x"]);
  t.is(noStart.code, 2);
  t.regex(noStart.stderr, /add needs --start/);
  const badAction = await runAgora(["maintenance", "explode", ...args]);
  t.is(badAction.code, 2);
  t.regex(badAction.stderr, /unknown action "explode"/);
});
