import test from "ava";
import { isValidRole } from "../../../protocol/common.ts";
import { Resources } from "../../../protocol/resources.ts";

const SAMPLES = [
  "*",
  "web",
  "eng/web",
  "a.b",
  ".x",
  "..",
  ".",
  "a/..",
  "-a",
  "a/-b",
  "a b",
  "a*",
  "",
  "a//b",
  "x/",
];

test("roles - one rule: Mesos's names, the same for a role field and a reserved resource", (t) => {
  t.deepEqual(
    SAMPLES.filter((r) => isValidRole(r)),
    ["*", "web", "eng/web", "a.b", ".x"],
  );
  for (const role of SAMPLES.filter((r) => r !== "*" && r !== "")) {
    let parses = true;
    try {
      Resources.parse(`cpus(${role}):1`);
    } catch {
      parses = false;
    }
    t.is(parses, isValidRole(role), role);
  }
  t.false(isValidRole("r".repeat(257)));
});
