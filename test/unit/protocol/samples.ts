/**
 * One valid sample message per message type, for codec tests and any other
 * test that needs a well-formed message. The table is typed so that the
 * compiler demands a sample for every registered type: adding a type to
 * `protocol/registry.ts` without adding it here is a type error.
 *
 * The samples set every optional field (with Uint8Array fields where the
 * schema has them); `minimalSamples` holds a few messages with only the
 * required fields.
 */
import type {
  ExecutorInfo,
  Offer,
  ResourcesJson,
  TaskInfo,
  TaskStatus,
} from "../../../protocol/common.ts";
import type { MessageOf, MessageType } from "../../../protocol/registry.ts";

/** Milliseconds since the epoch, fixed so samples are deterministic. */
export const SAMPLE_TIMESTAMP = 1_700_000_000_123;

/** A resource set with scalars, a reservation and ranges. */
export const sampleResources: ResourcesJson = {
  cpus: 1.5,
  mem: 256,
  disk: 1024,
  "cpus(web)": 0.5,
  ports: [
    [31000, 31005],
    [31010, 31010],
  ],
};

export const sampleExecutor: ExecutorInfo = {
  executorId: "exec-1",
  name: "custom executor",
  command: {
    value: "./my-executor",
    shell: false,
    arguments: ["--verbose", "--port=31000"],
    environment: { LOG_LEVEL: "debug" },
  },
  resources: { cpus: 0.1, mem: 32 },
};

/** A task with every optional field set. */
export const sampleTask: TaskInfo = {
  taskId: "task-1",
  name: "sleep forever",
  agentId: "agent-1",
  resources: { cpus: 1, mem: 128, ports: [[31000, 31000]] },
  command: {
    value: "sleep 1000",
    shell: true,
    environment: { GREETING: "hello world" },
    uris: [
      {
        value: "https://repo.example.com/pkgs/app.tar.gz?sig=x",
        extract: true,
        cache: true,
        outputFile: "pkg/app.tar.gz",
      },
      { value: "/opt/tools/helper", executable: true, extract: false },
    ],
  },
  executor: sampleExecutor,
  data: new Uint8Array([0, 1, 2, 254, 255]),
  labels: { team: "infra", "app.kubernetes/name": "web" },
  killGracePeriodSeconds: 2.5,
  healthCheck: {
    type: "HTTP",
    http: { port: 31000, path: "/health", scheme: "http", statuses: [200] },
    delaySeconds: 1,
    intervalSeconds: 0.5,
    timeoutSeconds: 2,
    consecutiveFailures: 3,
    gracePeriodSeconds: 10,
  },
  killPolicy: { gracePeriodSeconds: 1.5 },
};

/** A task with only the required fields. */
export const minimalTask: TaskInfo = {
  taskId: "task-2",
  name: "",
  agentId: "agent-1",
  resources: {},
};

/** A status with every optional field set. */
export const sampleStatus: TaskStatus = {
  taskId: "task-1",
  state: "TASK_FAILED",
  agentId: "agent-1",
  executorId: "exec-1",
  source: "SOURCE_EXECUTOR",
  reason: "REASON_COMMAND_EXECUTOR_FAILED",
  message: "exited with status 3",
  uuid: "3f1d2c0e-8b7a-4d6e-9f00-112233445566",
  timestamp: SAMPLE_TIMESTAMP,
  exitCode: 3,
  signal: "SIGKILL",
  data: new Uint8Array([42, 43]),
  healthy: false,
};

/** A status with only the required fields. */
export const minimalStatus: TaskStatus = {
  taskId: "task-2",
  state: "TASK_RUNNING",
  timestamp: SAMPLE_TIMESTAMP,
};

export const sampleOffer: Offer = {
  offerId: "offer-1",
  frameworkId: "fw-1",
  agentId: "agent-1",
  hostname: "node1.example.com",
  role: "*",
  resources: sampleResources,
  attributes: { rack: "r1", zone: "a", generation: 3 },
};

/** One valid message of every type, every optional field set. */
export const samples: { [T in MessageType]: MessageOf<T> } = {
  error: { type: "error", code: "NOT_LEADER", message: "not the leader", retryable: true },
  ok: { type: "ok" },
  batch: {
    type: "batch",
    messages: [
      { type: "agent.heartbeat" },
      { type: "agent.update", frameworkId: "fw-1", status: sampleStatus },
    ],
  },
  "agent.register": {
    type: "agent.register",
    hostname: "node1.example.com",
    resources: sampleResources,
    attributes: { rack: "r1", cores: 8 },
    version: "0.1.0",
  },
  "agent.reregister": {
    type: "agent.reregister",
    agentId: "agent-1",
    hostname: "node1.example.com",
    resources: sampleResources,
    attributes: { rack: "r1" },
    version: "0.1.0",
    tasks: [
      {
        frameworkId: "fw-1",
        executorId: "exec-1",
        role: "web",
        task: sampleTask,
        status: sampleStatus,
      },
    ],
  },
  "agent.registered": {
    type: "agent.registered",
    agentId: "agent-1",
    masterId: "master-1",
    heartbeatIntervalSeconds: 15,
  },
  "agent.heartbeat": { type: "agent.heartbeat" },
  "agent.update": { type: "agent.update", frameworkId: "fw-1", status: sampleStatus },
  "agent.message": {
    type: "agent.message",
    frameworkId: "fw-1",
    executorId: "exec-1",
    data: new Uint8Array([1, 2, 3]),
  },
  "agent.runTaskGroup": {
    type: "agent.runTaskGroup",
    framework: { frameworkId: "fw-1", name: "my framework", role: "web" },
    executor: { executorId: "default-1", type: "DEFAULT", resources: { cpus: 0.1, mem: 32 } },
    taskGroup: { tasks: [minimalTask] },
  },
  "agent.runTask": {
    type: "agent.runTask",
    framework: {
      frameworkId: "fw-1",
      name: "my framework",
      role: "web",
      capabilities: ["TASK_KILLING_STATE"],
    },
    tasks: [sampleTask, minimalTask],
  },
  "agent.killTask": {
    type: "agent.killTask",
    frameworkId: "fw-1",
    taskId: "task-1",
    gracePeriodSeconds: 3,
  },
  "agent.acknowledge": {
    type: "agent.acknowledge",
    frameworkId: "fw-1",
    taskId: "task-1",
    uuid: "3f1d2c0e-8b7a-4d6e-9f00-112233445566",
  },
  "agent.frameworkMessage": {
    type: "agent.frameworkMessage",
    frameworkId: "fw-1",
    executorId: "exec-1",
    data: new Uint8Array([9, 8, 7]),
  },
  "agent.shutdownFramework": { type: "agent.shutdownFramework", frameworkId: "fw-1" },
  "agent.shutdown": { type: "agent.shutdown", reason: "removed by operator" },
  "agent.checkpointResources": {
    type: "agent.checkpointResources",
    resources: { "cpus(web,alice,team=a)": 1, "disk(web,alice)[v1:data]": 512 },
  },
  "agent.reregisterRequest": { type: "agent.reregisterRequest" },
  "agent.usage": {
    type: "agent.usage",
    executors: [
      {
        frameworkId: "fw-1",
        executorId: "task-1",
        taskIds: ["task-1"],
        statistics: {
          timestamp: 1_700_000_000_000,
          cpusUserTimeSecs: 1.5,
          cpusSystemTimeSecs: 0.25,
          cpusThrottledTimeSecs: 0.1,
          memTotalBytes: 10_485_760,
          memPeakBytes: 20_971_520,
          processes: 2,
        },
        tasks: [{ taskId: "task-1", statistics: { timestamp: 1_700_000_000_000, processes: 1 } }],
      },
    ],
  },
  "scheduler.subscribe": {
    type: "scheduler.subscribe",
    framework: {
      frameworkId: "fw-1",
      name: "my framework",
      user: "alice",
      roles: ["web", "eng/batch", "*"],
      failoverTimeoutSeconds: 60,
      hostname: "laptop",
      principal: "alice-principal",
    },
    suppressedRoles: ["eng/batch"],
  },
  "scheduler.accept": {
    type: "scheduler.accept",
    offerIds: ["offer-1", "offer-2"],
    operations: [{ type: "launch", tasks: [sampleTask, minimalTask] }],
    filters: { refuseSeconds: 10 },
  },
  "scheduler.decline": {
    type: "scheduler.decline",
    offerIds: ["offer-3"],
    filters: { refuseSeconds: 0.5 },
  },
  "scheduler.revive": { type: "scheduler.revive", roles: ["web"] },
  "scheduler.suppress": { type: "scheduler.suppress", roles: ["web", "*"] },
  "scheduler.kill": { type: "scheduler.kill", taskId: "task-1", agentId: "agent-1" },
  "scheduler.request": {
    type: "scheduler.request",
    requests: [{ role: "web", resources: { cpus: 1, mem: 128 } }],
  },
  "scheduler.requestGang": {
    type: "scheduler.requestGang",
    gangId: "train-1",
    role: "web",
    members: [{ resources: { cpus: 4, mem: 4096 } }, { resources: { cpus: 4, mem: 4096 } }],
    spread: true,
    timeoutSeconds: 60,
  },
  "scheduler.withdrawGang": { type: "scheduler.withdrawGang", gangId: "train-1" },
  "scheduler.acceptGang": {
    type: "scheduler.acceptGang",
    gangId: "train-1",
    tasks: [sampleTask],
    filters: { refuseSeconds: 1 },
  },
  "scheduler.acknowledge": {
    type: "scheduler.acknowledge",
    agentId: "agent-1",
    taskId: "task-1",
    uuid: "3f1d2c0e-8b7a-4d6e-9f00-112233445566",
  },
  "scheduler.reconcile": {
    type: "scheduler.reconcile",
    tasks: [{ taskId: "task-1", agentId: "agent-1" }, { taskId: "task-2" }],
  },
  "scheduler.message": {
    type: "scheduler.message",
    agentId: "agent-1",
    executorId: "exec-1",
    data: new Uint8Array([0xff, 0x00, 0x7f]),
  },
  "scheduler.heartbeat": { type: "scheduler.heartbeat" },
  "scheduler.teardown": { type: "scheduler.teardown", reason: "done" },
  "scheduler.acceptInverseOffers": {
    type: "scheduler.acceptInverseOffers",
    inverseOfferIds: ["master-1-IO1"],
  },
  "scheduler.declineInverseOffers": {
    type: "scheduler.declineInverseOffers",
    inverseOfferIds: ["master-1-IO2"],
  },
  "event.subscribed": {
    type: "event.subscribed",
    frameworkId: "fw-1",
    masterId: "master-1",
    heartbeatIntervalSeconds: 15,
  },
  "event.offers": {
    type: "event.offers",
    offers: [sampleOffer, { ...sampleOffer, offerId: "offer-2", role: "web", attributes: {} }],
  },
  "event.rescind": { type: "event.rescind", offerId: "offer-1" },
  "event.gangTimedOut": {
    type: "event.gangTimedOut",
    gangId: "train-1",
    reason: "the whole set of 2 members did not fit within 60 s (held on 1 agents); released",
    backoffSeconds: 30,
  },
  "event.update": { type: "event.update", status: sampleStatus },
  "event.message": {
    type: "event.message",
    agentId: "agent-1",
    executorId: "exec-1",
    data: new Uint8Array([5, 6]),
  },
  "event.failure": {
    type: "event.failure",
    agentId: "agent-1",
    executorId: "exec-1",
    status: 137,
  },
  "event.error": {
    type: "event.error",
    code: "INVALID_MESSAGE",
    message: "invalid scheduler.accept: /offerIds must not be empty",
  },
  "event.heartbeat": { type: "event.heartbeat" },
  "event.resubscribe": { type: "event.resubscribe", masterId: "20260101-000000-abcdef" },
  "event.inverseOffers": {
    type: "event.inverseOffers",
    inverseOffers: [
      {
        inverseOfferId: "master-1-IO1",
        agentId: "agent-1",
        hostname: "node1",
        unavailability: { start: SAMPLE_TIMESTAMP, durationMs: 3_600_000 },
      },
    ],
  },
  "event.rescindInverseOffer": {
    type: "event.rescindInverseOffer",
    inverseOfferId: "master-1-IO1",
  },
  "executor.subscribe": {
    type: "executor.subscribe",
    unacknowledgedUpdates: [sampleStatus],
    tasks: [sampleTask],
  },
  "executor.update": { type: "executor.update", status: sampleStatus },
  "executor.message": { type: "executor.message", data: new Uint8Array([1]) },
  "executor.subscribed": {
    type: "executor.subscribed",
    agentId: "agent-1",
    frameworkId: "fw-1",
    executorId: "exec-1",
    frameworkCapabilities: ["TASK_KILLING_STATE", "PARTITION_AWARE"],
  },
  "executor.launch": { type: "executor.launch", task: sampleTask },
  "executor.launchGroup": {
    type: "executor.launchGroup",
    taskGroup: { tasks: [minimalTask], failurePolicy: "CONTINUE" },
    containers: [
      { taskId: "task-2", cgroupProcs: ["/sys/fs/cgroup/agora/a/c/t/leaf/cgroup.procs"] },
    ],
  },
  "executor.kill": { type: "executor.kill", taskId: "task-1", gracePeriodSeconds: 1 },
  "executor.acknowledged": {
    type: "executor.acknowledged",
    taskId: "task-1",
    uuid: "3f1d2c0e-8b7a-4d6e-9f00-112233445566",
  },
  "executor.frameworkMessage": {
    type: "executor.frameworkMessage",
    data: new Uint8Array(0),
  },
  "executor.shutdown": { type: "executor.shutdown", gracePeriodSeconds: 5 },
  "executor.reconnect": { type: "executor.reconnect", agentId: "a-S0" },
  "executor.heartbeat": { type: "executor.heartbeat" },
  "files.read": {
    type: "files.read",
    frameworkId: "fw-1",
    taskId: "task-1",
    executorId: "task-1",
    file: "stdout",
    offset: 0,
    length: 65536,
  },
  "files.data": {
    type: "files.data",
    data: new Uint8Array([104, 105, 10]),
    offset: 0,
    size: 3,
    eof: true,
    done: false,
    sandbox: "/var/lib/agora/slaves/agent-1/frameworks/fw-1/executors/task-1/runs/0",
  },
  "cluster.agentAdded": {
    type: "cluster.agentAdded",
    timestamp: SAMPLE_TIMESTAMP,
    agentId: "agent-1",
    hostname: "node1.example.com",
    resources: sampleResources,
    attributes: { rack: "r1" },
  },
  "cluster.agentReregistered": {
    type: "cluster.agentReregistered",
    timestamp: SAMPLE_TIMESTAMP,
    agentId: "agent-1",
    hostname: "node1.example.com",
  },
  "cluster.agentUnreachable": {
    type: "cluster.agentUnreachable",
    timestamp: SAMPLE_TIMESTAMP,
    agentId: "agent-1",
  },
  "cluster.agentUpdated": {
    type: "cluster.agentUpdated",
    timestamp: SAMPLE_TIMESTAMP,
    agentId: "agent-1",
    deactivated: true,
    drain: {
      state: "DRAINING",
      markGone: false,
      maxGracePeriodSeconds: 10,
      since: SAMPLE_TIMESTAMP,
      deadline: SAMPLE_TIMESTAMP + 60_000,
    },
  },
  "cluster.agentRemoved": {
    type: "cluster.agentRemoved",
    timestamp: SAMPLE_TIMESTAMP,
    agentId: "agent-1",
    reason: "unreachable for too long",
  },
  "cluster.frameworkAdded": {
    type: "cluster.frameworkAdded",
    timestamp: SAMPLE_TIMESTAMP,
    frameworkId: "fw-1",
    name: "my framework",
    roles: ["web"],
  },
  "cluster.frameworkDisconnected": {
    type: "cluster.frameworkDisconnected",
    timestamp: SAMPLE_TIMESTAMP,
    frameworkId: "fw-1",
  },
  "cluster.frameworkRemoved": {
    type: "cluster.frameworkRemoved",
    timestamp: SAMPLE_TIMESTAMP,
    frameworkId: "fw-1",
    reason: "teardown",
  },
  "cluster.offersSent": {
    type: "cluster.offersSent",
    timestamp: SAMPLE_TIMESTAMP,
    offers: [
      {
        offerId: "offer-1",
        frameworkId: "fw-1",
        agentId: "agent-1",
        role: "*",
        resources: sampleResources,
      },
    ],
  },
  "cluster.offerRescinded": {
    type: "cluster.offerRescinded",
    timestamp: SAMPLE_TIMESTAMP,
    offerId: "offer-1",
    frameworkId: "fw-1",
    agentId: "agent-1",
    reason: "agent removed",
  },
  "cluster.offerEnded": {
    type: "cluster.offerEnded",
    timestamp: SAMPLE_TIMESTAMP,
    offerId: "offer-1",
    frameworkId: "fw-1",
    agentId: "agent-1",
    how: "accepted",
  },
  "cluster.taskUpdated": {
    type: "cluster.taskUpdated",
    timestamp: SAMPLE_TIMESTAMP,
    frameworkId: "fw-1",
    agentId: "agent-1",
    taskId: "task-1",
    name: "sleep forever",
    state: "TASK_KILLED",
    previousState: "TASK_KILLING",
    reason: "REASON_FRAMEWORK_REMOVED",
    message: "framework removed",
    resources: { cpus: 1, mem: 128 },
  },
  "cluster.allocation": {
    type: "cluster.allocation",
    timestamp: SAMPLE_TIMESTAMP,
    roles: { "*": { dominantShare: 0.25 }, web: { dominantShare: 0.5 } },
    frameworks: {
      "fw-1": { dominantShare: 0.5, role: "web" },
      "fw-2": { dominantShare: 0 },
    },
  },
  "operator.getState": { type: "operator.getState" },
  "operator.statePart": {
    type: "operator.statePart",
    index: 0,
    count: 2,
    data: new Uint8Array([0x82, 0xa1, 0x76, 0x01]),
  },
  "operator.state": {
    type: "operator.state",
    state: {
      masterId: "master-1",
      leader: true,
      startTime: SAMPLE_TIMESTAMP,
      policy: "drf",
      total: sampleResources,
      agents: [
        {
          id: "agent-1",
          hostname: "node1.example.com",
          resources: sampleResources,
          used: { cpus: 1, mem: 128 },
          offered: { cpus: 0.5, mem: 128 },
          attributes: { rack: "r1" },
          active: true,
          status: "active",
        },
      ],
      frameworks: [
        {
          id: "fw-1",
          name: "my framework",
          roles: ["web"],
          active: true,
          used: { cpus: 1, mem: 128 },
          offered: {},
          dominantShare: 0.5,
          tasks: [
            {
              id: "task-1",
              name: "sleep forever",
              state: "TASK_RUNNING",
              agentId: "agent-1",
              resources: { cpus: 1, mem: 128 },
              role: "web",
              executorId: "exec-1",
            },
            {
              id: "task-2",
              name: "",
              state: "TASK_STAGING",
              agentId: "agent-1",
              resources: {},
            },
          ],
        },
      ],
      roles: { web: { weight: 1, allocated: { cpus: 1, mem: 128 }, dominantShare: 0.5 } },
    },
  },
  "operator.setWeights": { type: "operator.setWeights", weights: { web: 2, "eng/batch": 0.5 } },
  "operator.getWeights": { type: "operator.getWeights" },
  "operator.weights": { type: "operator.weights", weights: { web: 2 } },
  "operator.setPriorities": {
    type: "operator.setPriorities",
    priorities: { prod: 10, "eng/batch": -1 },
  },
  "operator.getPriorities": { type: "operator.getPriorities" },
  "operator.priorities": { type: "operator.priorities", priorities: { prod: 10 } },
  "operator.setQuota": {
    type: "operator.setQuota",
    role: "web",
    guarantee: { cpus: 2, mem: 1024 },
    limit: { cpus: 8, mem: 8192 },
  },
  "operator.removeQuota": { type: "operator.removeQuota", role: "web" },
  "operator.getQuota": { type: "operator.getQuota" },
  "operator.quota": {
    type: "operator.quota",
    quotas: { web: { guarantee: { cpus: 2 }, limit: { cpus: 8 } }, batch: {} },
  },
  "operator.usePolicy": { type: "operator.usePolicy", name: "binpack" },
  "operator.updatePreemption": { type: "operator.updatePreemption", enabled: true },
  "operator.teardown": { type: "operator.teardown", frameworkId: "m1-0001" },
  "operator.reserveResources": {
    type: "operator.reserveResources",
    agentId: "m1-S0",
    resources: { "cpus(web,alice)": 1 },
  },
  "operator.unreserveResources": {
    type: "operator.unreserveResources",
    agentId: "m1-S0",
    resources: { "cpus(web,alice)": 1 },
  },
  "operator.createVolumes": {
    type: "operator.createVolumes",
    agentId: "m1-S0",
    volumes: { "disk(web,alice)[v1:data]": 512 },
  },
  "operator.destroyVolumes": {
    type: "operator.destroyVolumes",
    agentId: "m1-S0",
    volumes: { "disk(web,alice)[v1:data]": 512 },
  },
  "operator.explain": { type: "operator.explain", frameworkId: "F1", role: "web" },
  "operator.drainAgent": {
    type: "operator.drainAgent",
    agentId: "agent-1",
    maxGracePeriodSeconds: 10,
    markGone: true,
    deadlineSeconds: 60,
  },
  "operator.deactivateAgent": { type: "operator.deactivateAgent", agentId: "agent-1" },
  "operator.reactivateAgent": { type: "operator.reactivateAgent", agentId: "agent-1" },
  "operator.updateMaintenanceSchedule": {
    type: "operator.updateMaintenanceSchedule",
    windows: [
      {
        machines: [{ agentId: "agent-1" }, { hostname: "node2" }],
        unavailability: { start: SAMPLE_TIMESTAMP, durationMs: 3_600_000 },
      },
    ],
  },
  "operator.getMaintenanceSchedule": { type: "operator.getMaintenanceSchedule" },
  "operator.maintenanceSchedule": {
    type: "operator.maintenanceSchedule",
    windows: [{ machines: [{ hostname: "node2" }], unavailability: { start: SAMPLE_TIMESTAMP } }],
  },
  "operator.explanation": {
    type: "operator.explanation",
    frameworkId: "F1",
    timestamp: SAMPLE_TIMESTAMP,
    policy: "drf",
    roles: [
      {
        role: "web",
        share: 0.25,
        offersOutstanding: 0,
        reasons: [
          {
            kind: "filtered",
            message: "1 agent declined with a filter",
            agents: 1,
            until: SAMPLE_TIMESTAMP + 5000,
            filters: [{ agentId: "A1", resources: "cpus:4", expiresAt: SAMPLE_TIMESTAMP + 5000 }],
          },
          {
            kind: "outranked",
            message:
              "2 agents pass every check, offered first to F2 (share 0.1); shares are updated after each offer",
            agents: 2,
            frameworks: [{ id: "F2", share: 0.1 }],
            roles: [],
          },
        ],
      },
    ],
  },
  "policy.ping": { type: "policy.ping" },
  "policy.allocate": {
    type: "policy.allocate",
    context: {
      now: SAMPLE_TIMESTAMP,
      total: sampleResources,
      agents: [
        {
          agentId: "agent-1",
          hostname: "node1.example.com",
          total: sampleResources,
          free: { cpus: 0.5, mem: 128 },
          attributes: { rack: "r1" },
        },
      ],
      frameworks: [
        {
          frameworkId: "fw-1",
          roles: ["web", "*"],
          active: true,
          allocation: { web: { cpus: 1, mem: 128 } },
          suppressedRoles: ["*"],
          filters: [{ agentId: "agent-1", role: "web", resources: { cpus: 0.5 }, expiresAt: 1 }],
          allocations: 3,
          priority: 1,
        },
      ],
      roles: {
        web: { weight: 2, priority: 1, quota: { guarantee: { cpus: 1 }, limit: { cpus: 2 } } },
      },
      allocationInterval: 1000,
    },
  },
  "policy.decision": {
    type: "policy.decision",
    allocations: [
      { frameworkId: "fw-1", role: "web", agentId: "agent-1", resources: { cpus: 0.5, mem: 128 } },
    ],
  },
};

/** Messages of a few types with only their required fields. */
export const minimalSamples: { [T in MessageType]?: MessageOf<T> } = {
  "agent.register": {
    type: "agent.register",
    hostname: "h",
    resources: {},
    attributes: {},
  },
  "agent.shutdown": { type: "agent.shutdown" },
  "agent.killTask": { type: "agent.killTask", frameworkId: "fw-1", taskId: "task-1" },
  "agent.update": { type: "agent.update", frameworkId: "fw-1", status: minimalStatus },
  "scheduler.subscribe": { type: "scheduler.subscribe", framework: { name: "f" } },
  "scheduler.accept": { type: "scheduler.accept", offerIds: ["offer-1"], operations: [] },
  "scheduler.decline": { type: "scheduler.decline", offerIds: ["offer-1"] },
  "scheduler.revive": { type: "scheduler.revive" },
  "scheduler.suppress": { type: "scheduler.suppress" },
  "scheduler.kill": { type: "scheduler.kill", taskId: "task-1" },
  "scheduler.reconcile": { type: "scheduler.reconcile", tasks: [] },
  "scheduler.teardown": { type: "scheduler.teardown" },
  "event.failure": { type: "event.failure" },
  "event.update": { type: "event.update", status: minimalStatus },
  "executor.subscribe": { type: "executor.subscribe" },
  "executor.launch": { type: "executor.launch", task: minimalTask },
  "executor.kill": { type: "executor.kill", taskId: "task-1" },
  "executor.shutdown": { type: "executor.shutdown" },
  "cluster.taskUpdated": {
    type: "cluster.taskUpdated",
    timestamp: SAMPLE_TIMESTAMP,
    frameworkId: "fw-1",
    agentId: "agent-1",
    taskId: "task-1",
    name: "t",
    state: "TASK_STAGING",
    resources: {},
  },
};
