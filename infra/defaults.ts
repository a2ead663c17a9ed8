/**
 * Every default of agora, in one place. Mesos's flags and constants are the
 * reference; the Mesos name is given beside each one.
 */

/** Master: batch allocation every interval (`--allocation_interval=1secs`). */
export const DEFAULT_ALLOCATION_INTERVAL_MS = 1000;
/**
 * Master: offers made per event-loop turn when a batch cycle applies its
 * decision; the rest follow on the next turns, so that accepts and status
 * updates are served in between (Mesos runs its allocator as an actor of its
 * own for the same reason). `allocate()` applies a decision whole.
 */
export const DEFAULT_ALLOCATION_CHUNK_OFFERS = 1000;
/** Master: an agent is pinged (here: must heartbeat) this often (`--agent_ping_timeout=15secs`). */
export const DEFAULT_AGENT_PING_TIMEOUT_MS = 15_000;
/** Master: missed pings before an agent is unreachable (`--max_agent_ping_timeouts=5`). */
export const DEFAULT_MAX_AGENT_PING_TIMEOUTS = 5;
/** Master: an unreachable agent is removed after this (`--agent_removal... `; Mesos keeps 2 weeks of unreachable agents). */
export const DEFAULT_AGENT_REMOVAL_TIMEOUT_MS = 10 * 60_000;
/** Master: offers are rescinded after this; 0 = never (`--offer_timeout`, none by default). */
export const DEFAULT_OFFER_TIMEOUT_MS = 0;
/** Master: heartbeat events to schedulers (`Event::HEARTBEAT`, 15 s). */
export const DEFAULT_FRAMEWORK_HEARTBEAT_INTERVAL_MS = 15_000;
/** Master: missed scheduler heartbeats before the framework is disconnected. */
export const DEFAULT_MAX_FRAMEWORK_HEARTBEAT_TIMEOUTS = 3;
/** Master: failover timeout of a framework that does not set one (`FrameworkInfo.failover_timeout`, 0). */
export const DEFAULT_FRAMEWORK_FAILOVER_TIMEOUT_MS = 0;
/** Master: the allocation policy. */
export const DEFAULT_POLICY = "drf";
/**
 * Master: free resources are offered only when they hold at least one of
 * these sets of quantities (`--min_allocatable_resources=cpus:0.01|mem:32`).
 */
export const DEFAULT_MIN_ALLOCATABLE_RESOURCES = "cpus:0.01|mem:32";
/** Preemption is off unless the master is started with `--preemption` (or switched on at run time). */
export const DEFAULT_PREEMPTION = false;
/**
 * Master: the share of each resource of the cluster that gangs may hold at once while they wait
 * for their whole set (`scheduler.requestGang`; agora's, Mesos has no gangs). See docs/gang.md.
 */
export const DEFAULT_GANG_HOLD_FRACTION = 0.5;
/** Master: after a gang of a framework times out, its gangs hold nothing for this long. */
export const DEFAULT_GANG_BACKOFF_MS = 30_000;
/**
 * Master: deadline of one decision of a remote policy (`agora policy serve`); without an answer
 * the cycle falls back to drf. Mesos has no remote allocator; half the default allocation
 * interval keeps the batch cadence even when the policy actor is gone.
 */
export const DEFAULT_POLICY_TIMEOUT_MS = 500;

/** Decline filter: seconds before declined resources are offered again (`Filters.refuse_seconds=5`). */
export const DEFAULT_REFUSE_SECONDS = 5;

/** Agent: SIGTERM → SIGKILL grace for tasks (`--executor_shutdown_grace_period=5secs`). */
export const DEFAULT_EXECUTOR_SHUTDOWN_GRACE_PERIOD_MS = 5000;
/** Agent: first retry of an unacknowledged status update (`STATUS_UPDATE_RETRY_INTERVAL_MIN`). */
export const DEFAULT_STATUS_UPDATE_RETRY_MIN_MS = 10_000;
/** Agent: the retry interval doubles up to this (`STATUS_UPDATE_RETRY_INTERVAL_MAX`). */
export const DEFAULT_STATUS_UPDATE_RETRY_MAX_MS = 10 * 60_000;
/** Agent: first (re)registration retry; doubles with jitter (`--registration_backoff_factor=1secs`). */
export const DEFAULT_REGISTRATION_BACKOFF_MS = 1000;
/** Agent: registration backoff cap (`REGISTER_RETRY_INTERVAL_MAX`, 1 min). */
export const DEFAULT_REGISTRATION_BACKOFF_MAX_MS = 60_000;
/** Agent: the executor must subscribe within this (`--executor_registration_timeout=1mins`). */
export const DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT_MS = 60_000;
/**
 * How long an idle default executor (no task left) stays up for the next task
 * group of its framework before the agent shuts it down (agent
 * `--default-executor-idle-timeout`); Mesos's default executor exits at once,
 * agora keeps it so that short tasks do not pay an executor start each.
 */
export const DEFAULT_DEFAULT_EXECUTOR_IDLE_TIMEOUT_MS = 10_000;
/**
 * The default executor spawns at most this many tasks per event-loop turn, so that the
 * updates of the tasks already spawned (and their exits) go out while a big group is
 * still being spawned.
 */
export const DEFAULT_EXECUTOR_SPAWNS_PER_TURN = 4;
/** Command executor: bytes of the task's stdout tail sent with its terminal update. */
export const TERMINAL_OUTPUT_TAIL_BYTES = 64 * 1024;
/** Agent: work directory (`--work_dir`), relative to the current directory. */
export const DEFAULT_WORK_DIR = ".agora/agent";
/** Agent: ports offered when not given (`ports:[31000-32000]`). */
export const DEFAULT_PORTS = "[31000-32000]";

/**
 * Scheduler driver: first delay before a subscription is retried; doubles with jitter. Mesos's
 * driver uses `registration_backoff_factor=2secs`; agora retries faster because a missing master
 * usually means "not started yet".
 */
export const DEFAULT_SUBSCRIBE_BACKOFF_MS = 500;
/** Scheduler driver: cap of the subscription retry delay. */
export const DEFAULT_SUBSCRIBE_BACKOFF_MAX_MS = 10_000;
/** Scheduler driver: master heartbeat intervals without any event before it resubscribes. */
export const DEFAULT_MASTER_SILENCE_INTERVALS = 3;
/** Scheduler driver: update uuids remembered to drop duplicates. */
export const UPDATE_DEDUPE_WINDOW = 10_000;
/**
 * Scheduler driver: a resubscription after NOT_SUBSCRIBED or `event.resubscribe` waits a random
 * delay up to this first, so that a new leader is not hit by every framework in the same
 * millisecond (Mesos's driver waits a random share of `registration_backoff_factor` too).
 */
export const DEFAULT_RESUBSCRIBE_JITTER_MS = 250;
/** Scheduler driver: first retry of a resubscription nobody answered (no responders: an election). */
export const DEFAULT_RESUBSCRIBE_BACKOFF_MS = 100;
/**
 * Scheduler driver: cap of the resubscription retry delay. Low, so that the driver follows a new
 * leader within about a second of its election (a 1.5 s lease); the first subscription keeps the
 * higher `DEFAULT_SUBSCRIBE_BACKOFF_MAX_MS`.
 */
export const DEFAULT_RESUBSCRIBE_BACKOFF_MAX_MS = 500;
/**
 * Scheduler driver: deadline of one resubscription request (the first subscription uses the
 * request timeout): a paused old leader that still holds its NATS subscriptions never answers.
 */
export const DEFAULT_RESUBSCRIBE_TIMEOUT_MS = 2000;
/**
 * Scheduler driver: first retry of an explicit reconciliation for tasks the master did not answer
 * (or answered TASK_UNKNOWN while its agents were not back); doubles (Mesos reconciliation.md).
 */
export const DEFAULT_RECONCILE_RETRY_MS = 1000;
/** Scheduler driver: cap of the explicit reconciliation retry delay. */
export const DEFAULT_RECONCILE_RETRY_MAX_MS = 30_000;
/** Scheduler driver: explicit reconciliation rounds after a resubscription before it gives up. */
export const DEFAULT_RECONCILE_ATTEMPTS = 8;
/** Scheduler driver: non-terminal tasks whose latest state it tracks (the oldest are forgotten). */
export const SCHEDULER_TRACKED_TASKS_MAX = 100_000;
/** Scheduler driver: tasks per explicit `scheduler.reconcile` (keeps a call far below 1 MiB). */
export const RECONCILE_BATCH_TASKS = 5000;

/** NATS URL when neither `--nats` nor `AGORA_NATS_URL` is given. */
export const DEFAULT_NATS_URL = "nats://127.0.0.1:4222";

/** Request timeout of one NATS request/reply. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
/** `agora dev`: agents started when `--agents` is not given. */
export const DEFAULT_DEV_AGENTS = 2;

/** Agent: mem kept for the system when mem is detected: total − 1 GB (Mesos `containerizer.cpp`)... */
export const AGENT_MEM_RESERVED_MB = 1024;
/** ...when the total is at least 2 GB; below it, half the total is offered. */
export const AGENT_MEM_RESERVED_THRESHOLD_MB = 2048;
/** Agent: disk kept for the system when disk is detected: the work dir's file system − 5 GB... */
export const AGENT_DISK_RESERVED_MB = 5120;
/** ...when the file system holds at least 10 GB; below it, half of it is offered. */
export const AGENT_DISK_RESERVED_THRESHOLD_MB = 10_240;
/** Executor library: first retry of `executor.subscribe`; doubles on each retry. */
export const DEFAULT_EXECUTOR_SUBSCRIBE_BACKOFF_MS = 100;
/** Executor library: `executor.subscribe` is retried with backoff up to this (`MESOS_SUBSCRIPTION_BACKOFF_MAX`, 2 s). */
export const DEFAULT_EXECUTOR_SUBSCRIBE_BACKOFF_MAX_MS = 2000;
/** Command executor: after its terminal update it waits at most this for the acknowledgement, then exits. */
export const DEFAULT_COMMAND_EXECUTOR_ACK_WAIT_MS = 5000;
/** Agent: after the shutdown grace period an executor gets this much more before it is SIGKILLed. */
export const EXECUTOR_SHUTDOWN_KILL_MARGIN_MS = 1000;
/** Master: completed tasks remembered per framework (`--max_completed_tasks_per_framework=1000`). */
export const DEFAULT_MAX_COMPLETED_TASKS_PER_FRAMEWORK = 1000;
/** Master: removed agent (and framework) ids remembered, oldest forgotten first (`--registry_max_agent_count=102400`). */
export const MAX_REMEMBERED_REMOVED = 102_400;
/** Master: kills remembered per agent (or per recovery) for tasks it does not know yet (agora's bound). */
export const MAX_PENDING_KILLS = 10_000;
/** Master: a decline filter lasts at most this (Mesos caps `refuse_seconds` at 365 days). */
export const MAX_REFUSE_SECONDS = 365 * 24 * 3600;

/** Agent isolation: `cgroups`, `none`, or `auto` (cgroups where usable, else none) (Mesos `--isolation`). */
export const DEFAULT_ISOLATION = "auto";
/** Agent isolation: where the cgroup hierarchies are mounted (`--cgroups_hierarchy=/sys/fs/cgroup`). */
export const DEFAULT_CGROUPS_HIERARCHY = "/sys/fs/cgroup";
/** Agent isolation: the agent's cgroups live under `<hierarchy>/<root>/<agentId>` (`--cgroups_root=mesos`). */
export const DEFAULT_CGROUPS_ROOT = "agora";
/** Agent isolation: v1 `cpu.shares` per cpu (Mesos `CPU_SHARES_PER_CPU`). */
export const CPU_SHARES_PER_CPU = 1024;
/** Agent isolation: the least `cpu.shares` a container gets (Mesos `MIN_CPU_SHARES`). */
export const MIN_CPU_SHARES = 2;
/** Agent isolation: CFS period of a hard cpu limit, in µs (Mesos `CPU_CFS_PERIOD`, 100 ms). */
export const CPU_CFS_PERIOD_US = 100_000;
/** Agent isolation: the least CFS quota, in µs (Mesos `MIN_CPU_CFS_QUOTA`, 1 ms). */
export const MIN_CPU_CFS_QUOTA_US = 1000;
/** Agent isolation: the least memory limit of a container, in bytes (Mesos `MIN_MEMORY`, 32 MB). */
export const MIN_CONTAINER_MEMORY_BYTES = 32 * 1024 * 1024;
/** Agent isolation: a hard CFS cpu limit is set only with `--cgroups-enable-cfs` (`--cgroups_enable_cfs=false`). */
export const DEFAULT_CGROUPS_ENABLE_CFS = false;
/** Agent isolation: how long killing a container may take (freeze, kill, empty) before it fails. */
export const CGROUP_KILL_TIMEOUT_MS = 10_000;
/** Agent isolation: poll interval while a cgroup freezes or empties. */
export const CGROUP_POLL_INTERVAL_MS = 10;
/** Agent disk isolation: sandbox usage is checked this often (`--container_disk_watch_interval=15secs`). */
export const DEFAULT_CONTAINER_DISK_WATCH_INTERVAL_MS = 15_000;
/** Agent disk isolation: over-quota containers are killed only when asked (`--enforce_container_disk_quota=false`). */
export const DEFAULT_ENFORCE_CONTAINER_DISK_QUOTA = false;
/** Agent: tasks run as their user (`CommandInfo.user`, else `FrameworkInfo.user`) when the agent is root (`--switch_user=true`). */
export const DEFAULT_SWITCH_USER = true;
/** Agent: executors' resource statistics go to the master this often (`agent.usage`; Mesos polls `/monitor/statistics`). */
export const DEFAULT_USAGE_INTERVAL_MS = 10_000;
/** Agent isolation: cpus added to a command task's container for its executor (Mesos `DEFAULT_EXECUTOR_CPUS`). */
export const COMMAND_EXECUTOR_CPUS = 0.1;
/** Agent isolation: mem (MB) added to a command task's container for its executor (Mesos `DEFAULT_EXECUTOR_MEM`, 32 MB). */
export const COMMAND_EXECUTOR_MEM_MB = 32;
/** Agent disk isolation: one usage check stats at most this many files, then reports a lower bound. */
export const DISK_USAGE_ENTRY_BUDGET = 200_000;
/** Agent: what to do with checkpointed executors on restart (`--recover=reconnect`; or `cleanup`). */
export const DEFAULT_RECOVER = "reconnect";
/** Agent: a restarted agent waits this long for live executors to resubscribe (`--executor_reregistration_timeout=2secs`)... */
export const DEFAULT_EXECUTOR_REREGISTRATION_TIMEOUT_MS = 2000;
/** ...and no longer than this (`MAX_EXECUTOR_REREGISTRATION_TIMEOUT`, 15 s). */
export const MAX_EXECUTOR_REREGISTRATION_TIMEOUT_MS = 15_000;
/** Agent → executors: an executor without its agent for this long kills its tasks and exits (`--recovery_timeout=15mins`). */
export const DEFAULT_RECOVERY_TIMEOUT_MS = 15 * 60_000;
/** Agent: what a restart may change of resources and attributes (`--reconfiguration_policy=equal`; or `additive`). */
export const DEFAULT_RECONFIGURATION_POLICY = "equal";
/**
 * Agent: cap of the reregistration retry delay after it lost a master that it was registered
 * with (a failover): a fraction of the first-registration cap, so that agents come back within
 * seconds of a new leader; jittered over its upper half, so 50,000 of them do not come at once.
 */
export const DEFAULT_REREGISTRATION_BACKOFF_MAX_MS = 4000;
/** Agent: how often executors recovered after a restart (no child handle) are checked for liveness. */
export const RECOVERED_EXECUTOR_POLL_MS = 1000;
/** Executor library: `executor.heartbeat` to its agent this often (at most a quarter of the recovery timeout). */
export const DEFAULT_EXECUTOR_HEARTBEAT_INTERVAL_MS = 5000;
/** Agent: acknowledged update uuids kept per task in its checkpoint (for executors resending them). */
export const CHECKPOINT_ACKED_UUIDS = 16;

/**
 * Agent: how long a task's change that a crash may lose waits to be
 * checkpointed (ms): an acknowledgement of a non-terminal update (lost, the
 * update is sent again; duplicates are recognized by uuid) or an executor's
 * non-terminal update (the executor keeps it until acknowledged and resends
 * it on subscribe). Written with the task's next change, or after this.
 */
export const CHECKPOINT_ACK_FLUSH_MS = 1000;

/** Health checks: seconds from the task's start to the first check (`HealthCheck.delay_seconds=15`). */
export const DEFAULT_HEALTH_CHECK_DELAY_SECONDS = 15;
/** Health checks: seconds from the end of one check to the next (`HealthCheck.interval_seconds=10`). */
export const DEFAULT_HEALTH_CHECK_INTERVAL_SECONDS = 10;
/** Health checks: seconds before a check is aborted as a failure; 0 = none (`HealthCheck.timeout_seconds=20`). */
export const DEFAULT_HEALTH_CHECK_TIMEOUT_SECONDS = 20;
/** Health checks: failures in a row before the task is killed (`HealthCheck.consecutive_failures=3`). */
export const DEFAULT_HEALTH_CHECK_CONSECUTIVE_FAILURES = 3;
/** Health checks: seconds from the task's start in which failures are ignored (`HealthCheck.grace_period_seconds=10`). */
export const DEFAULT_HEALTH_CHECK_GRACE_PERIOD_SECONDS = 10;
/** Health checks: HTTP scheme when none is given (Mesos `DEFAULT_HTTP_SCHEME`, `http`). */
export const DEFAULT_HEALTH_CHECK_HTTP_SCHEME = "http";
/** Health checks: HTTP path when none is given (Mesos requests the port's root). */
export const DEFAULT_HEALTH_CHECK_HTTP_PATH = "/";
/**
 * Health checks: bytes of a command check's output (stdout and stderr) kept for its failure
 * message. Mesos sends the output to the executor's stderr; agora keeps a bounded tail.
 */
export const HEALTH_CHECK_OUTPUT_BYTES = 1024;

/** Agent fetcher: capacity of the fetcher cache in bytes; 0 disables it (`--fetcher_cache_size=2GB`). */
export const DEFAULT_FETCHER_CACHE_SIZE_BYTES = 2 * 1024 ** 3;
/**
 * Agent fetcher: the cache lives under this directory of the system's temp dir, one subdirectory
 * per agent (`--fetcher_cache_dir=<tmp>/mesos/fetch`); the agent empties its own on start.
 */
export const DEFAULT_FETCHER_CACHE_DIR = "agora/fetch";
/** Agent fetcher: a download that receives nothing for this long is aborted (`--fetcher_stall_timeout=1mins`). */
export const DEFAULT_FETCHER_STALL_TIMEOUT_MS = 60_000;
/** Agent fetcher: HTTP redirects followed per URI (Mesos follows curl's; agora bounds them). */
export const FETCHER_MAX_REDIRECTS = 10;
/** Agent fetcher: bytes one download may write (agora's bound; Mesos has none). */
export const FETCHER_MAX_DOWNLOAD_BYTES = 16 * 1024 ** 3;
/** Agent fetcher: bytes one archive may extract to, a bound against archive bombs (agora's). */
export const FETCHER_MAX_EXTRACTED_BYTES = 16 * 1024 ** 3;
/** Agent fetcher: entries one archive may hold (agora's). */
export const FETCHER_MAX_ARCHIVE_ENTRIES = 100_000;
/**
 * Master: the leader lease (no Mesos flag: Mesos leans on ZooKeeper's session timeout,
 * `--zk_session_timeout=10secs`). The leader renews every lease / {@link LEADER_RENEWALS_PER_LEASE}
 * and stops serving after lease × {@link LEADER_FENCE_FRACTION} without a successful renewal; a
 * standby takes over after seeing the same lease revision for a whole lease.
 */
export const DEFAULT_LEADER_LEASE_MS = 1500;
/** Master: renewals per lease. */
export const LEADER_RENEWALS_PER_LEASE = 5;
/** Master: share of the lease after the last successful renewal at which a leader fences itself. */
export const LEADER_FENCE_FRACTION = 0.8;
/** Master: how long a new leader waits for the registry's agents to reregister (`--agent_reregister_timeout=10mins`). */
export const DEFAULT_AGENT_REREGISTER_TIMEOUT_MS = 10 * 60_000;
/**
 * Master: allocation resumes after a failover once this share of the registry's agents reregistered,
 * or after the agent reregister timeout (Mesos's hierarchical allocator: `AGENT_RECOVERY_FACTOR`
 * 0.8, `ALLOCATION_HOLD_OFF_RECOVERY_TIMEOUT`).
 */
export const DEFAULT_RECOVERY_AGENT_FRACTION = 0.8;
/** Master: replicas of the registry bucket (`--registry_quorum` analogue; 1 for one NATS server). */
export const DEFAULT_REGISTRY_REPLICAS = 1;
/** Master: where the registry lives: `kv` (JetStream KV, replicated) or `memory` (`--registry=in_memory`). */
export const DEFAULT_REGISTRY = "kv";
/** Master: how long `start()` keeps trying to open the registry bucket (JetStream electing a stream leader). */
export const REGISTRY_OPEN_TIMEOUT_MS = 30_000;
/** Master: first retry of opening the registry; doubles up to {@link REGISTRY_OPEN_BACKOFF_MAX_MS}. */
export const REGISTRY_OPEN_BACKOFF_MS = 100;
export const REGISTRY_OPEN_BACKOFF_MAX_MS = 2000;
/** Master: a newly elected standby waits at most this for its registry mirror to catch up with the stream, then reads the registry whole. */
export const REGISTRY_MIRROR_CATCH_UP_MS = 2000;

/**
 * Master: cluster events are also kept in a JetStream stream, the cluster's event history
 * (`agora events --since`). Mesos keeps no event history; the limits are agora's own.
 */
export const DEFAULT_EVENTS_STREAM = true;
/** Master: events older than this leave the history stream (`max_age`). */
export const DEFAULT_EVENTS_MAX_AGE_MS = 24 * 3_600_000;
/** Master: the history stream keeps at most this many bytes, the oldest go first (`max_bytes`). */
export const DEFAULT_EVENTS_MAX_BYTES = 1024 * 1024 * 1024;
/** Master: replicas of the history stream (3 on a 3-node NATS cluster). */
export const DEFAULT_EVENTS_REPLICAS = 1;
/**
 * Master: the kinds of cluster events the history stream keeps by default: all but
 * `offer.sent`, by far the largest (every offer made: 50,000 per allocation cycle at
 * scale, 1,000 per event) and transient (an offer's fate is in the task and rescind events). `all` keeps every kind.
 */
export const DEFAULT_EVENTS_KINDS: readonly string[] = [
  "agent.>",
  "framework.>",
  "task.>",
  "offer.rescinded",
  "allocation",
];
/** Master: how long the leader waits for JetStream to create or update the history stream before it serves without it. */
export const EVENTS_STREAM_SETUP_TIMEOUT_MS = 5000;
/** `agora events`: idle heartbeat of the history consumer; a consumer silent for two is recreated from the last sequence seen. */
export const EVENTS_CONSUMER_IDLE_HEARTBEAT_MS = 5000;
/** Web UI (`agora ui`): HTTP port (Mesos serves its UI on the master's 5050; agora's UI is its own actor). */
export const DEFAULT_UI_HTTP_PORT = 5055;
/** Web UI: address the HTTP server binds. */
export const DEFAULT_UI_HTTP_HOST = "127.0.0.1";
/** Web UI: cluster events are sent to browsers in one batch per this interval (coalesced). */
export const DEFAULT_UI_FLUSH_MS = 100;
/** Web UI: one point of the resources and shares time series per this interval. */
export const DEFAULT_UI_SAMPLE_MS = 2000;
/** Web UI: a new state snapshot is taken this long after the last sign of a gap (one per failover storm). */
export const DEFAULT_UI_RESNAPSHOT_DELAY_MS = 1000;
/** UI: a state request the master did not answer is retried after this, doubling... */
export const UI_SNAPSHOT_RETRY_MS = 1000;
/** ...up to this. */
export const UI_SNAPSHOT_RETRY_MAX_MS = 30_000;
/** Web UI: a browser whose unsent stream grows past this many bytes is dropped (it reconnects and re-snapshots). */
export const UI_MAX_CLIENT_BACKLOG_BYTES = 16 * 1024 * 1024;
/**
 * Every actor's HTTP server (`/metrics`, `/health`, `/state`): the address it binds
 * (Mesos `--ip`, default all interfaces; agora's binds loopback unless told otherwise).
 * There is no default port (Mesos: master 5050, agent 5051): without `--http-port` an actor
 * serves no HTTP, so several agents, masters and policy actors run side by side on one host.
 */
export const DEFAULT_HTTP_HOST = "127.0.0.1";
/** Buckets of `agora_allocator_allocation_run_seconds` (Mesos `allocator/mesos/allocation_run_ms`). */
export const ALLOCATION_RUN_BUCKETS_S = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];
/**
 * How long `agora run` waits for a cluster it lost (NATS or the master) before
 * it gives up with a one-line message: the time a Mesos master waits for a
 * silent framework (heartbeat interval × max heartbeat timeouts, 15 s × 3).
 */
export const DEFAULT_RUN_UNREACHABLE_TIMEOUT_MS =
  DEFAULT_FRAMEWORK_HEARTBEAT_INTERVAL_MS * DEFAULT_MAX_FRAMEWORK_HEARTBEAT_TIMEOUTS;
