/**
 * Gang placement, pure (policies/gang.ts): first fit with and without
 * `spread`, what a waiting gang holds (whole members, then parts of the
 * others) within the hold cap, and the cap itself.
 */
import test from "ava";
import { fitGang, holdCap, holdWithin, perAgent } from "../../../policies/gang.ts";
import { Resources } from "../../../protocol/resources.ts";

const r = (text: string) => Resources.parse(text);
const slots = (...frees: string[]) =>
  frees.map((free, i) => ({ agentId: `a${i + 1}`, free: r(free) }));
const json = (m: Map<string, Resources>) =>
  Object.fromEntries(Array.from(m, ([k, v]) => [k, v.toString()]));

test("gang - first fit packs members; spread puts one per agent", (t) => {
  const members = [r("cpus:1;mem:128"), r("cpus:1;mem:128"), r("cpus:1;mem:128")];
  const free = slots("cpus:2;mem:256", "cpus:1;mem:128", "cpus:4;mem:512");
  const packed = fitGang({ members, spread: false }, free);
  t.deepEqual(packed, { placement: [0, 0, 1], complete: true });
  t.deepEqual(json(perAgent({ members, spread: false }, free, packed.placement)), {
    a1: "cpus:2;mem:256",
    a2: "cpus:1;mem:128",
  });
  t.deepEqual(fitGang({ members, spread: true }, free), { placement: [0, 1, 2], complete: true });
  const two = slots("cpus:2;mem:256", "cpus:2;mem:256");
  t.deepEqual(fitGang({ members, spread: true }, two), {
    placement: [0, 1, undefined],
    complete: false,
  });
});

test("gang - a waiting gang holds whole members, then what is free of the others, within the room", (t) => {
  const gang = {
    members: [r("cpus:2;mem:256"), r("cpus:2;mem:256"), r("cpus:2;mem:256")],
    spread: true,
  };
  const free = slots("cpus:2;mem:256", "cpus:1;mem:256", "mem:64");
  const fit = fitGang(gang, free);
  t.false(fit.complete);
  t.deepEqual(json(holdWithin(gang, free, fit, r("cpus:100;mem:10000"))), {
    a1: "cpus:2;mem:256",
    a2: "cpus:1;mem:256",
    a3: "mem:64",
  });
  // the cap: the room left holds the first member and a part of the next
  t.deepEqual(json(holdWithin(gang, free, fit, r("cpus:2.5;mem:10000"))), {
    a1: "cpus:2;mem:256",
    a2: "cpus:0.5;mem:256",
    a3: "mem:64",
  });
  // no room for the first whole member: nothing is held
  t.deepEqual(json(holdWithin(gang, free, fit, r("cpus:1;mem:10000"))), {});
});

test("gang - the hold cap is a share of each unreserved scalar of the cluster", (t) => {
  t.is(holdCap(r("cpus:10;mem:4096;cpus(web):4;ports:[1-10]"), 0.5).toString(), "cpus:5;mem:2048");
  t.true(holdCap(r("cpus:10"), 0).isEmpty());
});
