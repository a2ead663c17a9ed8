import test from "ava";
import { resolveSchedulerConfig } from "../../../actors/scheduler/config.ts";
import { SchedulerDriver } from "../../../actors/scheduler/driver.ts";
import { DEFAULT_NATS_URL } from "../../../infra/defaults.ts";
import { AgoraError } from "../../../protocol/errors.ts";

test("scheduler config - AGORA_NATS_URL and AGORA_SUBJECT_PREFIX over the defaults", (t) => {
  t.deepEqual(resolveSchedulerConfig({}), { nats: DEFAULT_NATS_URL, prefix: "agora" });
  t.deepEqual(
    resolveSchedulerConfig({ AGORA_NATS_URL: "nats://h:4333", AGORA_SUBJECT_PREFIX: "c2" }),
    { nats: "nats://h:4333", prefix: "c2" },
  );
});

test("scheduler config - the driver takes its subject prefix from the environment it is given", (t) => {
  t.notThrows(
    () => new SchedulerDriver({ framework: { name: "f" }, env: { AGORA_SUBJECT_PREFIX: "c2" } }),
  );
  t.throws(
    () => new SchedulerDriver({ framework: { name: "f" }, env: { AGORA_SUBJECT_PREFIX: "a b" } }),
    { instanceOf: AgoraError },
  );
});
