/**
 * The error messages protocol/README.md quotes as examples are the ones the
 * code produces: each example is read from the README and compared with the
 * real error for the same mistake.
 */
import { readFileSync } from "node:fs";
import test from "ava";
import { Packr } from "msgpackr";
import { denialMessage } from "../../../actors/master/authorizer.ts";
import { decode } from "../../../protocol/codec.ts";

const README = readFileSync(new URL("../../../protocol/README.md", import.meta.url), "utf8");

/** The example quoted in the README right after `lead` (e.g. "e.g. `…`"). */
function example(pattern: RegExp): string {
  const match = pattern.exec(README);
  if (match?.[1] === undefined) throw new Error(`no example ${pattern} in protocol/README.md`);
  return match[1];
}

test("README - the INVALID_MESSAGE example is the codec's message", (t) => {
  const quoted = example(/e\.g\. `(invalid scheduler\.accept: [^`]+)`/);
  const bytes = new Packr({ useRecords: false }).pack({
    v: 1,
    type: "scheduler.accept",
    offerIds: [],
    operations: [],
  });
  const err = t.throws(() => decode(bytes));
  t.is(err?.message, quoted);
});

test("README - the PERMISSION_DENIED examples are the authorizer's messages", (t) => {
  t.is(
    example(/e\.g\. `(principal "web" may not register_frameworks[^`]+)`/),
    denialMessage("register_frameworks", "web", "batch"),
  );
  t.is(
    example(/`(an unauthenticated caller may not update_weights[^`]+)`/),
    denialMessage("update_weights", undefined, "web"),
  );
});
