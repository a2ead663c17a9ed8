import test from "ava";
import {
  allocatableBy,
  describeMinAllocatable,
  isAllocatable,
  parseMinAllocatable,
} from "../../../policies/allocatable.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import { Resources } from "../../../protocol/resources.ts";

const parse = Resources.parse;

test("allocatable - isAllocatable like min_allocatable_resources", (t) => {
  t.true(isAllocatable(parse("cpus:0.01")));
  t.true(isAllocatable(parse("mem:32")));
  t.true(isAllocatable(parse("cpus(web):0.01")));
  t.false(isAllocatable(parse("cpus:0.005;mem:16")));
  t.false(isAllocatable(parse("disk:1000;ports:[1-100]")));
  t.false(isAllocatable(Resources.empty()));
});

test("allocatable - the flag's text: | between alternatives, ; between quantities all needed", (t) => {
  t.deepEqual(parseMinAllocatable("cpus:0.01|mem:32"), [{ cpus: 0.01 }, { mem: 32 }]);
  const min = parseMinAllocatable("disk:1|cpus:1;mem:32;ports:1");
  t.deepEqual(min, [{ disk: 1 }, { cpus: 1, mem: 32, ports: 1 }]);
  const check = allocatableBy(min);
  t.true(check(parse("disk:1")));
  t.false(check(parse("cpus:1;mem:32")), "no port");
  t.true(check(parse("cpus:1;mem:32;ports:[8080-8080]")));
  t.true(check(parse("cpus(web):0.5;cpus:0.5;mem:32;ports:[1-2]")), "summed over roles");
  t.false(check(parse("cpus:0.999;mem:4096;ports:[1-100]")));
  t.false(check(Resources.empty()));
  t.true(allocatableBy(parseMinAllocatable("ports:3"))(parse("ports:[1-2,5-5]")), "values counted");
  t.false(allocatableBy(parseMinAllocatable("ports:4"))(parse("ports:[1-2,5-5]")));
  t.is(allocatableBy(min), check, "built once per setting");
  t.is(describeMinAllocatable(min), "disk:1 or cpus:1;mem:32;ports:1");
  t.is(describeMinAllocatable(), "cpus:0.01 or mem:32");
});

test("allocatable - a bad flag text is INVALID_CONFIG naming the part", (t) => {
  for (const [text, fragment] of [
    ["", "a set of quantities is empty"],
    ["cpus:1|", "a set of quantities is empty"],
    ["cpus", '"cpus" is not name:quantity'],
    ["cpus:0", 'the quantity of "cpus" must be a positive number, got "0"'],
    ["cpus:-1", "positive number"],
    ["cpus:abc", "positive number"],
    ["mem:Infinity", "positive number"],
    ["cpus(web):1", 'invalid resource name "cpus(web)"'],
    ["cpus:1;cpus:2", '"cpus" is given twice in one set'],
  ] as const) {
    const err = t.throws(() => parseMinAllocatable(text), { instanceOf: AgoraError }, text);
    t.is(err?.code, ErrorCode.InvalidConfig);
    t.true(err?.message.includes(fragment), err?.message);
  }
});
