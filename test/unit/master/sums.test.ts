import test from "ava";
import fc from "fast-check";
import { RoleSums } from "../../../actors/master/sums.ts";
import { Resources } from "../../../protocol/resources.ts";

test("role sums: many distinct sets, the same ones and equal copies taken out, read in between", (t) => {
  // more distinct sets than are kept pending, and copies equal to them but not the same objects
  const sets = Array.from({ length: 90 }, (_, i) =>
    Resources.parse(
      `cpus:${(i % 7) + 0.5};mem:${64 * (i % 11) + 32};ports:[${31000 + i}-${31001 + i}]`,
    ),
  );
  const step = fc.tuple(
    fc.constantFrom("*", "web"),
    fc.nat(sets.length - 1),
    fc.constantFrom("add", "subtract", "subtract-copy", "read"),
  );
  fc.assert(
    fc.property(fc.array(step, { maxLength: 300 }), (steps) => {
      const sums = new RoleSums();
      const expected = new Map<string, Resources>();
      for (const [role, i, kind] of steps) {
        const part = sets[i]!;
        if (kind === "read") {
          sums.get(role);
          continue;
        }
        if (kind === "add") {
          sums.add(role, part);
          expected.set(role, (expected.get(role) ?? Resources.empty()).add(part.quantities()));
        } else {
          sums.subtract(role, kind === "subtract" ? part : Resources.parse(part.toString()));
          const current = expected.get(role);
          if (current !== undefined) {
            const rest = current.subtractSaturating(part.quantities());
            if (rest.isEmpty()) expected.delete(role);
            else expected.set(role, rest);
          }
        }
        if (sums.size !== expected.size) return false;
        for (const [r, value] of expected) if (!sums.get(r)?.equals(value)) return false;
      }
      return true;
    }),
  );
  t.pass();
});
