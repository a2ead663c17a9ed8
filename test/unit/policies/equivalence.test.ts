import test from "ava";
import fc from "fast-check";
import { allocateDrf } from "../../../policies/drf.ts";
import { allocatePriority } from "../../../policies/priority.ts";
import type {
  AgentSlot,
  AllocationContext,
  AllocationDecision,
  DeclineFilter,
  FrameworkStanding,
  RoleStanding,
} from "../../../policies/types.ts";
import { Resources } from "../../../protocol/resources.ts";
import { allocateDrf as referenceDrf } from "./reference/drf.ts";
import { allocatePriority as referencePriority } from "./reference/priority.ts";

const ROLES = ["*", "a", "a/x", "a/y", "b", "c/d"] as const;
const RESERVABLE = ["a", "a/x", "b", "c"] as const;
const NOW = 10_000;

/** A resource set from small random parts (scalars in thousandths, reservations, ports). */
const resourcesArb = fc
  .record({
    cpus: fc.integer({ min: 0, max: 80 }),
    mem: fc.integer({ min: 0, max: 64 }),
    disk: fc.integer({ min: 0, max: 3 }),
    reserved: fc.option(
      fc.record({
        role: fc.constantFrom(...RESERVABLE),
        cpus: fc.integer({ min: 1, max: 20 }),
        mem: fc.integer({ min: 0, max: 16 }),
      }),
      { nil: undefined },
    ),
    ports: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
  })
  .map(({ cpus, mem, disk, reserved, ports }) => {
    const json: Record<string, number | Array<[number, number]>> = {};
    if (cpus > 0) json.cpus = cpus / 10;
    if (mem > 0) json.mem = mem * 128;
    if (disk > 0) json.disk = disk * 1000;
    if (reserved !== undefined) {
      json[`cpus(${reserved.role})`] = reserved.cpus / 10;
      if (reserved.mem > 0) json[`mem(${reserved.role})`] = reserved.mem * 64;
    }
    if (ports !== undefined) json.ports = [[31000 + ports * 10, 31000 + ports * 10 + 9]];
    return Resources.fromJSON(json);
  });

const agentArb = fc
  .record({ total: resourcesArb, usedPercent: fc.constantFrom(0, 0, 25, 50, 100) })
  .map(({ total, usedPercent }) => {
    // free: the total, or the total minus some of its scalars
    let free = total;
    if (usedPercent === 100) free = Resources.empty();
    else if (usedPercent > 0) {
      const part: Record<string, number> = {};
      total.forEachScalar((name, milli, role) => {
        const key = role === "*" ? name : `${name}(${role})`;
        const taken = Math.floor((milli * usedPercent) / 100) / 1000;
        if (taken > 0) part[key] = taken;
      });
      free = total.subtractSaturating(Resources.fromJSON(part));
    }
    return { total, free };
  });

const roleStandingArb: fc.Arbitrary<RoleStanding> = fc
  .record({
    weight: fc.constantFrom(1, 1, 2, 0.5, 3),
    priority: fc.option(fc.integer({ min: -1, max: 2 }), { nil: undefined }),
    guarantee: fc.option(fc.integer({ min: 1, max: 40 }), { nil: undefined }),
    limit: fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }),
    limitMem: fc.boolean(),
  })
  .map(({ weight, priority, guarantee, limit, limitMem }) => {
    const quota: { guarantee?: Resources; limit?: Resources } = {};
    if (guarantee !== undefined) quota.guarantee = Resources.fromJSON({ cpus: guarantee / 10 });
    if (limit !== undefined) {
      quota.limit = Resources.fromJSON(
        limitMem ? { cpus: limit / 10, mem: limit * 256 } : { cpus: limit / 10 },
      );
    }
    return {
      weight,
      ...(priority === undefined ? {} : { priority }),
      ...(guarantee === undefined && limit === undefined ? {} : { quota }),
    };
  });

const contextArb: fc.Arbitrary<AllocationContext> = fc
  .record({
    agents: fc.array(agentArb, { minLength: 0, maxLength: 10 }),
    frameworks: fc.array(
      fc.record({
        roles: fc.uniqueArray(fc.constantFrom(...ROLES), { minLength: 1, maxLength: 3 }),
        active: fc.integer({ min: 0, max: 9 }).map((n) => n < 7),
        suppressed: fc.integer({ min: 0, max: 7 }),
        allocation: fc.array(
          fc.record({ role: fc.constantFrom(...ROLES), cpus: fc.integer({ min: 1, max: 40 }) }),
          { maxLength: 2 },
        ),
        allocations: fc.integer({ min: 0, max: 4 }),
        priority: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
        filters: fc.array(
          fc.record({
            agent: fc.integer({ min: 0, max: 9 }),
            role: fc.option(fc.constantFrom(...ROLES), { nil: undefined }),
            resources: resourcesArb,
            expires: fc.constantFrom(-1, 1),
          }),
          { maxLength: 4 },
        ),
      }),
      { minLength: 1, maxLength: 6 },
    ),
    roles: fc.dictionary(fc.constantFrom("a", "a/x", "a/y", "b", "c", "c/d"), roleStandingArb, {
      maxKeys: 4,
    }),
    extraTotal: fc.boolean(),
  })
  .map(({ agents, frameworks, roles, extraTotal }) => {
    const slots: AgentSlot[] = agents.map((a, i) => ({
      agentId: `n${i}`,
      hostname: `n${i}`,
      total: a.total,
      free: a.free,
    }));
    let total = Resources.empty();
    for (const a of slots) total = total.add(a.total);
    if (extraTotal) total = total.add(Resources.fromJSON({ cpus: 4, mem: 4096 }));
    const standings: FrameworkStanding[] = frameworks.map((f, i) => {
      const allocation: Record<string, Resources> = {};
      for (const part of f.allocation) {
        allocation[part.role] = (allocation[part.role] ?? Resources.empty()).add(
          Resources.fromJSON({ cpus: part.cpus / 10, mem: part.cpus * 50 }),
        );
      }
      const filters: DeclineFilter[] = f.filters.map((x) => ({
        agentId: `n${x.agent}`,
        ...(x.role === undefined ? {} : { role: x.role }),
        resources: x.resources,
        expiresAt: NOW + x.expires,
      }));
      return {
        frameworkId: `f${(i * 7) % 10}${i}`,
        roles: f.roles,
        active: f.active,
        allocation,
        suppressedRoles: f.roles.filter((_, k) => (f.suppressed >> k) & 1),
        filters,
        allocations: f.allocations,
        ...(f.priority === undefined ? {} : { priority: f.priority }),
      };
    });
    return { now: NOW, total, agents: slots, frameworks: standings, roles };
  });

function summary(decision: AllocationDecision): string[] {
  return decision.allocations.map(
    (a) => `${a.agentId}->${a.frameworkId}(${a.role}):${a.resources}`,
  );
}

test("policies - the incremental DRF cycle decides exactly as the reference cycle", (t) => {
  fc.assert(
    fc.property(contextArb, (context) => {
      t.deepEqual(summary(allocateDrf(context)), summary(referenceDrf(context)));
    }),
    { numRuns: 600 },
  );
});

test("policies - the incremental priority cycle decides exactly as the reference cycle", (t) => {
  fc.assert(
    fc.property(contextArb, (context) => {
      t.deepEqual(summary(allocatePriority(context)), summary(referencePriority(context)));
    }),
    { numRuns: 600 },
  );
});

test("policies - many agents and frameworks: the same decision as the reference cycle", (t) => {
  const agents: AgentSlot[] = [];
  for (let i = 0; i < 400; i++) {
    const total = Resources.parse(
      i % 7 === 0 ? "cpus:8;mem:16384;cpus(a):2;ports:[31000-32000]" : "cpus:4;mem:8192",
    );
    agents.push({ agentId: `n${i}`, hostname: `n${i}`, total, free: total });
  }
  let total = Resources.empty();
  for (const a of agents) total = total.add(a.total);
  const frameworks: FrameworkStanding[] = [];
  for (let i = 0; i < 30; i++) {
    frameworks.push({
      frameworkId: `f${i}`,
      roles: i % 3 === 0 ? ["a", "*"] : i % 3 === 1 ? ["a/x"] : ["b"],
      active: i % 11 !== 5,
      allocation: {},
      suppressedRoles: [],
      filters: Array.from({ length: 40 }, (_, k) => ({
        agentId: `n${(i * 13 + k * 7) % 400}`,
        resources: Resources.parse("cpus:8;mem:16384"),
        expiresAt: NOW + 1,
      })),
      allocations: i % 4,
    });
  }
  const context: AllocationContext = {
    now: NOW,
    total,
    agents,
    frameworks,
    roles: { a: { weight: 2, quota: { limit: Resources.parse("cpus:300") } }, b: { weight: 1 } },
  };
  t.deepEqual(summary(allocateDrf(context)), summary(referenceDrf(context)));
  t.deepEqual(summary(allocatePriority(context)), summary(referencePriority(context)));
});
