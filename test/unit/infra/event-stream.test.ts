import { millis } from "@nats-io/nats-core";
import test from "ava";
import { resolveMasterConfig } from "../../../actors/master/config.ts";
import { subjectMatches } from "../../../cli/commands/events.ts";
import { DEFAULT_EVENTS_KINDS, DEFAULT_EVENTS_MAX_BYTES } from "../../../infra/defaults.ts";
import { parseByteSize } from "../../../infra/durations.ts";
import { eventStreamConfig, eventStreamSubjects } from "../../../infra/event-stream.ts";
import { ErrorCode, isAgoraError } from "../../../protocol/errors.ts";
import { Subjects } from "../../../protocol/subjects.ts";

const subjects = new Subjects("dc1.prod");

test("event stream - sizes parse with decimal and binary units", (t) => {
  t.is(parseByteSize("1073741824"), 1024 ** 3);
  t.is(parseByteSize("1GiB"), 1024 ** 3);
  t.is(parseByteSize("1g"), 1024 ** 3);
  t.is(parseByteSize("512MB"), 512 * 1024 ** 2);
  t.is(parseByteSize("1.5KiB"), 1536);
  for (const bad of ["", "ten", "5 parsecs", "-1"]) {
    const err = t.throws(() => parseByteSize(bad));
    t.true(isAgoraError(err) && err.code === ErrorCode.InvalidConfig, bad);
  }
});

test("event stream - the configuration names the prefix's stream, its kinds and limits", (t) => {
  const config = eventStreamConfig(subjects, {
    kinds: ["task.>", "allocation"],
    maxAgeMs: 3_600_000,
    maxBytes: 1000,
    replicas: 3,
  });
  t.is(config.name, "dc1_prod_events");
  t.deepEqual(config.subjects, ["dc1.prod.v3.events.task.>", "dc1.prod.v3.events.allocation"]);
  t.is(millis(config.max_age ?? 0), 3_600_000);
  t.is(config.max_bytes, 1000);
  t.is(config.num_replicas, 3);
  t.is(config.storage, "file");
  t.is(config.discard, "old");
  t.deepEqual(eventStreamSubjects(subjects, ["all"]), ["dc1.prod.v3.events.>"]);
});

test("event stream - the master's flags resolve to the defaults and are checked", (t) => {
  const defaults = resolveMasterConfig({ env: {} });
  t.true(defaults.eventsStream);
  t.is(defaults.eventsMaxBytes, DEFAULT_EVENTS_MAX_BYTES);
  t.deepEqual(defaults.eventsKinds, [...DEFAULT_EVENTS_KINDS]);
  const given = resolveMasterConfig({
    env: { AGORA_EVENTS_MAX_BYTES: "2GiB" },
    argv: ["--events-max-age", "1h", "--events-kinds", "all", "--events-stream=false"],
  });
  t.is(given.eventsMaxBytes, 2 * 1024 ** 3);
  t.is(given.eventsMaxAge, 3_600_000);
  t.deepEqual(given.eventsKinds, ["all"]);
  t.false(given.eventsStream);
  for (const argv of [
    ["--events-kinds", "task..updated"],
    ["--events-kinds", "a.>.b"],
    ["--events-max-bytes", "0"],
    ["--events-replicas", "0"],
  ]) {
    const err = t.throws(() => resolveMasterConfig({ env: {}, argv }));
    t.true(isAgoraError(err) && err.code === ErrorCode.InvalidConfig, argv.join(" "));
  }
});

test("agora events - kind patterns match subjects as NATS does", (t) => {
  t.true(subjectMatches("a.v2.events.task.updated", "a.v2.events.task.updated"));
  t.true(subjectMatches("a.v2.events.agent.>", "a.v2.events.agent.added"));
  t.false(subjectMatches("a.v2.events.agent.>", "a.v2.events.agent"));
  t.true(subjectMatches("a.v2.events.*.sent", "a.v2.events.offer.sent"));
  t.false(subjectMatches("a.v2.events.offer.*", "a.v2.events.offer.sent.x"));
  t.false(subjectMatches("a.v2.events.task.updated", "a.v2.events.task"));
});
