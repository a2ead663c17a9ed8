import test from "ava";
import { isAllocatable } from "../../../policies/allocatable.ts";
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
