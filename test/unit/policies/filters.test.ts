import test from "ava";
import fc from "fast-check";
import {
  attachFilterIndex,
  type DeclineFilter,
  filtersOnAgent,
  isFiltered,
} from "../../../policies/types.ts";
import { Resources } from "../../../protocol/resources.ts";
import { isFiltered as scanFilters } from "./reference/helpers.ts";

const filterArb: fc.Arbitrary<DeclineFilter> = fc
  .record({
    agent: fc.nat(5),
    role: fc.option(fc.constantFrom("*", "web"), { nil: undefined }),
    cpus: fc.integer({ min: 1, max: 4 }),
    expiresAt: fc.integer({ min: 0, max: 20 }),
  })
  .map(({ agent, role, cpus, expiresAt }) => ({
    agentId: `a${agent}`,
    ...(role === undefined ? {} : { role }),
    resources: Resources.fromJSON({ cpus }),
    expiresAt,
  }));

const queryArb = fc.record({
  agent: fc.nat(6),
  role: fc.option(fc.constantFrom("*", "web", "db"), { nil: undefined }),
  cpus: fc.integer({ min: 1, max: 5 }),
  now: fc.integer({ min: 0, max: 20 }),
});

test("filters - the indexed check answers as a scan of every filter, short and long lists", (t) => {
  fc.assert(
    fc.property(
      fc.array(filterArb, { maxLength: 60 }),
      fc.array(queryArb, { minLength: 1, maxLength: 20 }),
      (filters, queries) => {
        for (const q of queries) {
          const r = Resources.fromJSON({ cpus: q.cpus });
          t.is(
            isFiltered(filters, `a${q.agent}`, r, q.now, q.role),
            scanFilters(filters, `a${q.agent}`, r, q.now, q.role),
          );
        }
      },
    ),
  );
});

test("filters - a list that grows is indexed again; an attached index is used as its owner keeps it", (t) => {
  const r = Resources.fromJSON({ cpus: 1 });
  const filters: DeclineFilter[] = Array.from({ length: 20 }, (_, i) => ({
    agentId: `a${i}`,
    resources: r,
    expiresAt: 100,
  }));
  t.false(isFiltered(filters, "a99", r, 0));
  filters.push({ agentId: "a99", resources: r, expiresAt: 100 });
  t.true(isFiltered(filters, "a99", r, 0), "pushed filter seen");
  const owned: DeclineFilter[] = [];
  const index = new Map<string, DeclineFilter[]>();
  attachFilterIndex(owned, index);
  for (let i = 0; i < 20; i++) {
    const filter = { agentId: `a${i}`, resources: r, expiresAt: 100 };
    owned.push(filter);
    index.set(filter.agentId, [filter]);
  }
  t.true(isFiltered(owned, "a3", r, 0));
  t.is(filtersOnAgent(owned, "a3")?.length, 1);
  t.false(isFiltered(owned, "a3", r, 100), "expired");
});
