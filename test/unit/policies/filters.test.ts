import test from "ava";
import fc from "fast-check";
import {
  type DeclineFilter,
  filterIndexOf,
  filtersOnAgent,
  isFiltered,
  isFilteredFor,
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
          const expected = scanFilters(filters, `a${q.agent}`, r, q.now, q.role);
          t.is(isFiltered(filters, `a${q.agent}`, r, q.now, q.role), expected);
          const framework = { filters, filterIndex: filterIndexOf(filters) };
          t.is(isFilteredFor(framework, `a${q.agent}`, r, q.now, q.role), expected);
          t.is(isFilteredFor({ filters }, `a${q.agent}`, r, q.now, q.role), expected);
        }
      },
    ),
  );
});

test("filters - the framework's index from the context is what is looked up", (t) => {
  const r = Resources.fromJSON({ cpus: 1 });
  const filters: DeclineFilter[] = [];
  const index = new Map<string, DeclineFilter[]>();
  for (let i = 0; i < 20; i++) {
    const filter = { agentId: `a${i}`, resources: r, expiresAt: 100 };
    filters.push(filter);
    index.set(filter.agentId, [filter]);
  }
  const framework = { filters, filterIndex: index };
  t.true(isFilteredFor(framework, "a3", r, 0));
  t.is(filtersOnAgent(framework, "a3")?.length, 1);
  t.is(filtersOnAgent({ filters }, "a3")?.length, 1);
  t.false(isFilteredFor(framework, "a3", r, 100), "expired");
  index.delete("a3");
  t.false(isFilteredFor(framework, "a3", r, 0), "the index, not the list, is consulted");
});
