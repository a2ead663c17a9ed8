/**
 * The agent emulator across a master failover, over a real nats-server with
 * a real master in this process: the master holding the agents and their
 * running tasks stops, a new one starts on the same prefix, and every
 * emulated agent reregisters with it, reporting every task it still runs.
 */
import { nuid } from "@nats-io/nats-core";
import anyTest, { type TestFn } from "ava";
import { createMaster, type Master, resolveMasterConfig } from "../../../actors/master/index.ts";
import { startAgentEmulator, TASK_DURATION_LABEL } from "../../../bench/emulator/index.ts";
import { startLoad } from "../../../bench/load/index.ts";
import { within } from "../../../bench/sampling.ts";
import { closeGracefully, connect } from "../../../infra/connect.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { requestState } from "../../../infra/request.ts";
import { TaskState } from "../../../protocol/common.ts";
import { Subjects } from "../../../protocol/subjects.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { eventually, SLOW_WAIT_MS } from "../../helpers/wait.ts";

const test = anyTest as TestFn;
const server = useNatsServer(test);

const AGENTS = 300;
const TASKS = 600;
const CONCURRENCY = 10;

test("emulator failover - every agent reregisters with a new master, with its running tasks", async (t) => {
  const url = server().url;
  const subjects = new Subjects(`failover${nuid.next().toLowerCase()}`);
  const nc = await connect({ servers: url, name: "test-masters" });
  const startMaster = async (masterId: string): Promise<Master> => {
    const master = createMaster({
      nc,
      logger: silentLogger(),
      subjects,
      config: resolveMasterConfig({
        overrides: { masterId, allocationInterval: 50, agentPingTimeout: 200 },
      }),
    });
    await master.start();
    return master;
  };
  let master = await startMaster("first");
  const emulator = await startAgentEmulator({
    servers: url,
    subjects,
    count: AGENTS,
    reregistrationDelayMs: 50,
    reregistrationBackoffMs: 50,
    reregistrationBackoffMaxMs: 200,
    reregistrationConcurrency: CONCURRENCY,
    reregistrationBatch: 5,
  });
  const load = await startLoad({
    servers: url,
    subjects,
    frameworks: 2,
    tasks: TASKS,
    until: "running",
    labels: { [TASK_DURATION_LABEL]: "Infinity" },
  });
  try {
    await within(emulator.ready, SLOW_WAIT_MS, "registration");
    await within(load.done, SLOW_WAIT_MS, "every task running");
    t.is(emulator.stats().tasksActive, TASKS);
    t.deepEqual(emulator.registeredWith("first"), { agents: AGENTS, tasks: TASKS });

    await master.stop();
    // the agents find the master gone through their heartbeats (answered by nobody)
    await eventually(
      () => emulator.stats().reregistering > 0,
      "agents noticing the master is gone",
      SLOW_WAIT_MS,
    );
    master = await startMaster("second");

    let maxInFlight = 0;
    await eventually(
      () => {
        maxInFlight = Math.max(maxInFlight, emulator.stats().reregistrationsInFlight);
        return emulator.registeredWith("second").agents === AGENTS;
      },
      "every agent reregistered with the new master",
      SLOW_WAIT_MS,
      { everyMs: 10 },
    );
    t.true(maxInFlight <= CONCURRENCY, `at most ${CONCURRENCY} reregistrations in flight`);
    t.deepEqual(emulator.registeredWith("second"), { agents: AGENTS, tasks: TASKS });
    const stats = emulator.stats();
    t.true(stats.reregistrations >= AGENTS);
    t.is(stats.tasksLaunched, TASKS, "no task was launched again");
    t.is(stats.tasksDropped, 0, "no task was dropped");

    // the new master's own view: every agent active, every task RUNNING on it
    const { state } = await requestState(nc, subjects.masterOperator(), 10_000);
    t.is(state.masterId, "second");
    t.is(state.agents.filter((a) => a.active).length, AGENTS);
    const tasks = state.frameworks.flatMap((f) => f.tasks);
    t.is(tasks.length, TASKS);
    t.true(tasks.every((task) => task.state === TaskState.Running));
    const agentIds = new Set(emulator.agents);
    t.true(tasks.every((task) => agentIds.has(task.agentId)));
  } finally {
    await load.stop().catch(() => undefined);
    await emulator.stop();
    await master.stop();
    await closeGracefully(nc);
  }
});
