import test from "ava";
import {
  agentResources,
  diskFromTotal,
  type MachineTotals,
  memFromTotal,
} from "../../../actors/agent/resources.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";

const MB = 1024 * 1024;
const GB = 1024 * MB;

const big: MachineTotals = { cpus: 8, memBytes: 16 * GB, diskBytes: 100 * GB };
const small: MachineTotals = { cpus: 1, memBytes: 1 * GB, diskBytes: 8 * GB };

test("resources - mem is total minus 1 GB from 2 GB on, else half", (t) => {
  t.is(memFromTotal(16 * GB), 16 * 1024 - 1024);
  t.is(memFromTotal(2 * GB), 1024);
  t.is(memFromTotal(2 * GB - MB), Math.floor((2 * 1024 - 1) / 2));
  t.is(memFromTotal(1 * GB), 512);
});

test("resources - disk is the file system minus 5 GB from 10 GB on, else half", (t) => {
  t.is(diskFromTotal(100 * GB), 100 * 1024 - 5 * 1024);
  t.is(diskFromTotal(10 * GB), 5 * 1024);
  t.is(diskFromTotal(8 * GB), 4 * 1024);
});

test("resources - everything is detected when nothing is given", (t) => {
  t.deepEqual(agentResources(undefined, big).toJSON(), {
    cpus: 8,
    mem: 15 * 1024,
    disk: 95 * 1024,
    ports: [[31000, 32000]],
  });
  t.deepEqual(agentResources("", small).toJSON(), {
    cpus: 1,
    mem: 512,
    disk: 4096,
    ports: [[31000, 32000]],
  });
});

test("resources - given resources win per name, the rest is detected", (t) => {
  t.deepEqual(agentResources("cpus:2;mem:1000", big).toJSON(), {
    cpus: 2,
    mem: 1000,
    disk: 95 * 1024,
    ports: [[31000, 32000]],
  });
  t.deepEqual(agentResources("ports:[8000-8010];gpus:1", big).toJSON(), {
    cpus: 8,
    mem: 15 * 1024,
    disk: 95 * 1024,
    gpus: 1,
    ports: [[8000, 8010]],
  });
});

test("resources - reservations are kept and count as given for their name", (t) => {
  const r = agentResources("cpus(web):2;cpus:1;mem(web):512", big).toJSON();
  t.is(r.cpus, 1);
  t.is(r["cpus(web)"], 2);
  t.is(r["mem(web)"], 512);
  t.is(r.mem, undefined);
  t.is(r.disk, 95 * 1024);
});

test("resources - a malformed resource string is an INVALID_RESOURCES error", (t) => {
  const err = t.throws(() => agentResources("cpus:abc", big), { instanceOf: AgoraError });
  t.is(err?.code, ErrorCode.InvalidResources);
});
