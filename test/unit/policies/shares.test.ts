import test from "ava";
import { dominantShare } from "../../../policies/shares.ts";
import { Resources } from "../../../protocol/resources.ts";

const parse = Resources.parse;

test("shares - dominantShare is the largest scalar share", (t) => {
  const total = parse("cpus:10;mem:1000;disk:0;ports:[1-100]");
  t.is(dominantShare(parse("cpus:2;mem:100"), total), 0.2);
  t.is(dominantShare(parse("cpus:1;mem:500"), total), 0.5);
  t.is(dominantShare(parse("gpus:5;ports:[1-100]"), total), 0);
  t.is(dominantShare(Resources.empty(), total), 0);
  t.is(dominantShare(parse("cpus:1"), Resources.empty()), 0);
  t.is(dominantShare(parse("cpus(web):2;cpus:3"), parse("cpus:5;cpus(web):5")), 0.5);
  t.is(dominantShare(parse("mem:250"), total), 0.25);
});
