/**
 * The fault tier: the fault matrix of issue 9, one case per fault
 * (test/faults/cases/), each on its own cluster of real processes, run one
 * after the other in this one file so that the cases never starve each
 * other on a small machine (the other test files keep the other cores).
 *
 * A case whose feature this checkout lacks is skipped with the probe's
 * reason in its title (harness/features.ts), and runs by itself once the
 * feature is there.
 */

import agentPause from "./cases/agent-pause.ts";
import agentRestart from "./cases/agent-restart.ts";
import executorKill from "./cases/executor-kill.ts";
import frameworkFailover from "./cases/framework-failover.ts";
import leaderPause from "./cases/leader-pause.ts";
import malformedFlood from "./cases/malformed-flood.ts";
import masterFailover from "./cases/master-failover.ts";
import natsCluster from "./cases/nats-cluster.ts";
import natsRestart from "./cases/nats-restart.ts";
import { features } from "./harness/features.ts";
import { declareCases } from "./harness/scenario.ts";

// The probes run first: AVA wants every test declared synchronously after them.
declareCases(await features(), [
  executorKill,
  agentRestart,
  agentPause,
  frameworkFailover,
  masterFailover,
  leaderPause,
  natsRestart,
  natsCluster,
  malformedFlood,
]);
