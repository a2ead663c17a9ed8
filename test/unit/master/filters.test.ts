import test from "ava";
import fc from "fast-check";
import { FilterBook } from "../../../actors/master/filter-book.ts";
import {
  addFilter,
  checkFilters,
  clearFilters,
  noFilters,
  pruneFilters,
} from "../../../actors/master/filters.ts";
import type { FrameworkEntry } from "../../../actors/master/model.ts";
import { type DeclineFilter, isFiltered } from "../../../policies/types.ts";
import { Resources } from "../../../protocol/resources.ts";

/** A framework record with only what filters.ts reads. */
function framework(book: FilterBook, id: string): FrameworkEntry {
  return { id, ...noFilters(book) } as FrameworkEntry;
}

const SETS = [
  Resources.parse("cpus:2;mem:2048"),
  Resources.parse("cpus:1;mem:512"),
  Resources.parse("cpus:4;mem:4096;ports:[31000-31010]"),
];
const ROLES = [undefined, "a", "b"];

test("the index answers as a scan of the list, through adds, expiry and revives", (t) => {
  const op = fc.oneof(
    fc.record({
      kind: fc.constant("add" as const),
      fw: fc.nat(2),
      agent: fc.nat(3),
      role: fc.nat(2),
      set: fc.nat(2),
      ttl: fc.integer({ min: 1, max: 50 }),
    }),
    fc.record({ kind: fc.constant("tick" as const), ms: fc.integer({ min: 1, max: 20 }) }),
    fc.record({
      kind: fc.constant("revive" as const),
      fw: fc.nat(2),
      role: fc.option(fc.nat(2), { nil: undefined }),
    }),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
      const book = new FilterBook();
      const fws = [0, 1, 2].map((i) => framework(book, `f${i}`));
      let now = 0;
      for (const o of ops) {
        if (o.kind === "add") {
          addFilter(fws[o.fw]!, {
            agentId: `a${o.agent}`,
            ...(ROLES[o.role] === undefined ? {} : { role: ROLES[o.role] }),
            resources: SETS[o.set]!,
            expiresAt: now + o.ttl,
          });
        } else if (o.kind === "tick") {
          now += o.ms;
          for (const fw of fws) pruneFilters(fw, now);
          for (const fw of fws) {
            if (fw.filters.some((f) => f.expiresAt <= now)) return false;
          }
        } else {
          clearFilters(fws[o.fw]!, o.role === undefined ? undefined : [ROLES[o.role] ?? "a"]);
        }
        for (const fw of fws) {
          if (checkFilters(fw).length > 0) return false;
          for (let a = 0; a < 4; a++) {
            for (const r of SETS) {
              for (const role of ROLES) {
                const want = isFiltered(fw.filters, `a${a}`, r, now, role);
                if (fw.filterIndex.isFiltered(`a${a}`, r, now, role) !== want) return false;
                const on = fw.filterIndex.get(`a${a}`) ?? [];
                if (isFiltered(on, `a${a}`, r, now, role) !== want) return false;
              }
            }
          }
        }
      }
      return true;
    }),
  );
  t.pass();
});

test("many frameworks filtering one agent: each one's filters, through its slots", (t) => {
  const book = new FilterBook();
  const fws = Array.from({ length: 40 }, (_, i) => framework(book, `f${i}`));
  const r = SETS[0]!;
  fws.forEach((fw, i) => {
    addFilter(fw, { agentId: "a1", resources: r, expiresAt: 100 + i });
    if (i % 2 === 0) addFilter(fw, { agentId: "a1", role: "a", resources: r, expiresAt: 10 });
  });
  for (const fw of fws) t.deepEqual(checkFilters(fw), []);
  t.true(fws[7]!.filterIndex.isFiltered("a1", r, 50));
  t.false(fws[7]!.filterIndex.isFiltered("a2", r, 50));
  t.is(fws[8]!.filterIndex.get("a1")?.length, 2);
  for (const fw of fws) pruneFilters(fw, 10);
  t.is(fws[8]!.filterIndex.get("a1")?.length, 1);
  for (const fw of fws) pruneFilters(fw, 120);
  fws.forEach((fw, i) => {
    t.is(fw.filterIndex.isFiltered("a1", r, 120), i > 20, `f${i}`);
    t.deepEqual(checkFilters(fw), []);
  });
  for (const fw of fws) clearFilters(fw, undefined);
  t.deepEqual([...book.entries()], []);
});

test("pruning takes out only the expired filters, in any order of expiry", (t) => {
  const book = new FilterBook();
  const fw = framework(book, "f");
  const expiries = [50, 10, 30, 10, 70, 20, 60];
  const added: DeclineFilter[] = expiries.map((expiresAt, i) => ({
    agentId: `a${i % 3}`,
    resources: SETS[0]!,
    expiresAt,
  }));
  for (const filter of added) addFilter(fw, filter);
  t.deepEqual(fw.filters, added);
  pruneFilters(fw, 9);
  t.is(fw.filters.length, 7);
  pruneFilters(fw, 30);
  t.deepEqual(fw.filters.map((f) => f.expiresAt).sort(), [50, 60, 70]);
  t.deepEqual(checkFilters(fw), []);
  pruneFilters(fw, 70);
  t.deepEqual(fw.filters, []);
  t.deepEqual([...book.entries()], []);
});
