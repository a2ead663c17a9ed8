import test from "ava";
import fc from "fast-check";
import { FrameworkOrder, listOf } from "../../../policies/framework-order.ts";
import type { CycleView } from "../../../policies/ordering.ts";
import { CandidateState } from "../../../policies/tally.ts";

/** Candidates keyed by a number each (then by id), as an ordering's comparison sees them. */
function candidates(count: number): { list: CandidateState[]; key: Map<CandidateState, number> } {
  const list: CandidateState[] = [];
  for (let i = 0; i < count; i++) {
    list.push(
      new CandidateState({
        frameworkId: `f${String(i).padStart(2, "0")}`,
        roles: ["*"],
        active: true,
        allocation: {},
        suppressedRoles: [],
        filters: [],
      }),
    );
  }
  return { list, key: new Map() };
}

const ids = (list: readonly CandidateState[]) => list.map((c) => c.standing.frameworkId);

/** A step: some candidates (by index, repeats dropped) get new keys. */
const stepsArb = fc.array(
  fc.array(fc.record({ who: fc.nat(), key: fc.integer({ min: 0, max: 20 }) }), {
    minLength: 1,
    maxLength: 3,
  }),
  { maxLength: 30 },
);

test("framework order - moved frameworks are put back where a full sort puts them", (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 12 }),
      fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 12, maxLength: 12 }),
      stepsArb,
      (count, initial, steps) => {
        const { list, key } = candidates(count);
        for (const [i, c] of list.entries()) key.set(c, initial[i]!);
        const compare = (_view: CycleView, _role: string, a: CandidateState, b: CandidateState) =>
          key.get(a)! - key.get(b)! || (a.standing.frameworkId < b.standing.frameworkId ? -1 : 1);
        const sorted = () => list.slice().sort((a, b) => compare(view, "*", a, b));
        const view = {} as CycleView;
        const order = new FrameworkOrder();
        order.reset(sorted());
        for (const step of steps) {
          for (const { who, key: k } of step) {
            const c = list[who % count]!;
            key.set(c, k);
            if (!order.moved.includes(c)) order.moved.push(c);
          }
          order.settle(view, "*", (v, r, a, b) =>
            compare(v, r, a as CandidateState, b as CandidateState),
          );
          t.deepEqual(ids(listOf(order)), ids(sorted()));
          t.is(order.moved.length, 0);
        }
      },
    ),
  );
});

test("framework order - the first moving to last turns the ring; positions read in order", (t) => {
  const { list, key } = candidates(5);
  for (const [i, c] of list.entries()) key.set(c, i);
  const order = new FrameworkOrder();
  order.reset(list.slice());
  const compare = (_v: CycleView, _r: string, a: unknown, b: unknown) =>
    key.get(a as CandidateState)! - key.get(b as CandidateState)!;
  for (let round = 0; round < 7; round++) {
    const first = order.at(0)!;
    key.set(first, 5 + round);
    order.moved.push(first);
    order.settle({} as CycleView, "*", compare);
    t.is(order.at(order.length - 1), first);
  }
  t.deepEqual(ids(listOf(order)), ["f02", "f03", "f04", "f00", "f01"]);
  t.is(order.at(5), undefined);
});
