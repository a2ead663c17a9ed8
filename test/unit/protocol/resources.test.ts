import test, { type ExecutionContext } from "ava";
import fc from "fast-check";
import type { ResourcesJson } from "../../../protocol/common.ts";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import { Resources } from "../../../protocol/resources.ts";

const parse = Resources.parse;

function throwsInvalid(t: ExecutionContext, fn: () => unknown, ...fragments: string[]): void {
  const err = t.throws(fn, { instanceOf: AgoraError });
  t.is(err?.code, ErrorCode.InvalidResources);
  for (const fragment of fragments) t.true(err?.message.includes(fragment), err?.message);
}

// ---------------------------------------------------------------------------
// Parsing

test("resources - parses scalars", (t) => {
  const r = parse("cpus:4;mem:4096;disk:10240;gpus:1");
  t.is(r.scalar("cpus"), 4);
  t.is(r.scalar("mem"), 4096);
  t.is(r.scalar("disk"), 10240);
  t.is(r.scalar("gpus"), 1);
  t.is(r.scalar("absent"), 0);
  t.deepEqual(r.names(), ["cpus", "mem", "disk", "gpus"]);
});

test("resources - parses ports ranges", (t) => {
  const r = parse("ports:[31000-32000,33000-33010]");
  t.deepEqual(r.ranges("ports"), [
    [31000, 32000],
    [33000, 33010],
  ]);
  t.deepEqual(parse("ports:[80]").ranges("ports"), [[80, 80]]);
  t.deepEqual(parse("ports:[80-80]").ranges("ports"), [[80, 80]]);
  t.true(parse("ports:[]").isEmpty());
  t.deepEqual(parse("cpus:1").ranges("ports"), []);
});

test("resources - tolerates whitespace and empty parts", (t) => {
  const r = parse("  cpus : 2 ; mem:128 ;; cpus ( web ) : 1 ; ports : [ 1 - 3 , 5 ] ;");
  t.true(r.equals(parse("cpus:2;mem:128;cpus(web):1;ports:[1-3,5-5]")));
  t.true(parse("").isEmpty());
  t.true(parse("  ").isEmpty());
});

test("resources - adds duplicate name and role together", (t) => {
  t.is(parse("cpus:1;cpus:2.5").scalar("cpus"), 3.5);
  t.deepEqual(parse("ports:[1-5];ports:[4-10,20-30]").ranges("ports"), [
    [1, 10],
    [20, 30],
  ]);
});

test("resources - merges overlapping and adjacent ranges", (t) => {
  t.deepEqual(parse("ports:[10-20,1-5,6-9,30-40,35-36]").ranges("ports"), [
    [1, 20],
    [30, 40],
  ]);
});

test("resources - * is the unreserved role", (t) => {
  t.true(parse("cpus(*):2").equals(parse("cpus:2")));
  t.is(parse("cpus(*):2").toString(), "cpus:2");
});

test("resources - parse errors name the offending part", (t) => {
  throwsInvalid(t, () => parse("cpus:abc"), 'invalid resource "cpus:abc": value is not a number');
  throwsInvalid(t, () => parse("mem:128;cpus"), '"cpus"', "missing");
  throwsInvalid(t, () => parse("cpus:"), '"cpus:"', "empty");
  throwsInvalid(t, () => parse(":2"), '":2"', "name is empty");
  throwsInvalid(t, () => parse("cp us:2"), '"cp us:2"', "invalid name");
  throwsInvalid(t, () => parse("cpus:-1"), '"cpus:-1"', "negative");
  throwsInvalid(t, () => parse("cpus:1e400"), '"cpus:1e400"', "finite");
  throwsInvalid(t, () => parse("cpus:NaN"), "not a number");
  throwsInvalid(t, () => parse("cpus:Infinity"), "not a number");
  throwsInvalid(t, () => parse("cpus:1x"), "not a number");
  throwsInvalid(t, () => parse("cpus(web:1"), '"cpus(web:1"', ")");
  throwsInvalid(t, () => parse("cpus(web)):1"), '"cpus(web)):1"');
  throwsInvalid(t, () => parse("cpus():1"), '"cpus():1"', "role is empty");
  throwsInvalid(t, () => parse("cpus(a//b):1"), '"cpus(a//b):1"', "empty component");
  throwsInvalid(t, () => parse("cpus(-a):1"), '"cpus(-a):1"', '"-"');
  throwsInvalid(t, () => parse("cpus(..):1"), '"cpus(..):1"');
  throwsInvalid(t, () => parse("cpus(a b):1"), '"cpus(a b):1"');
  throwsInvalid(t, () => parse("ports:[1-2"), '"ports:[1-2"', "]");
  throwsInvalid(t, () => parse("ports:[a-b]"), '"ports:[a-b]"', 'invalid range "a-b"');
  throwsInvalid(t, () => parse("ports:[1-2,]"), '"ports:[1-2,]"', "invalid range");
  throwsInvalid(t, () => parse("ports:[-1-2]"), "invalid range");
  throwsInvalid(t, () => parse("ports:[5-1]"), '"ports:[5-1]"', "begin greater than end");
  throwsInvalid(t, () => parse("ports:[1.5-2]"), "invalid range");
  throwsInvalid(t, () => parse("ports:{a,b}"), '"ports:{a,b}"', "set");
  throwsInvalid(t, () => parse("cpus:[1-2]"), '"cpus:[1-2]"', "scalar");
  throwsInvalid(t, () => parse("ports:3"), '"ports:3"', "ranges");
  throwsInvalid(t, () => parse("foo:1;foo:[1-2]"), '"foo:[1-2]"', "scalar");
});

// ---------------------------------------------------------------------------
// Fixed point

test("resources - scalars are fixed point to three decimals", (t) => {
  const r = parse("cpus:0.1").add(parse("cpus:0.2"));
  t.is(r.scalar("cpus"), 0.3);
  t.is(r.toString(), "cpus:0.3");
  t.true(r.equals(parse("cpus:0.3")));
  t.is(parse("cpus:0.3").subtract(parse("cpus:0.1")).scalar("cpus"), 0.2);
  t.is(parse("cpus:0.0004").scalar("cpus"), 0);
  t.true(parse("cpus:0.0004").isEmpty());
  t.is(parse("cpus:0.0005").scalar("cpus"), 0.001);
  t.is(parse("cpus:1.23456").scalar("cpus"), 1.235);
});

test("resources - formats numbers without trailing zeros", (t) => {
  t.is(parse("cpus:0.500;mem:2.0;disk:+1e3").toString(), "cpus:0.5;mem:2;disk:1000");
  t.is(parse("cpus:.25").toString(), "cpus:0.25");
});

test("resources - sums of many small scalars stay exact", (t) => {
  let r = Resources.empty();
  const step = Resources.scalars({ cpus: 0.1 });
  for (let i = 0; i < 1000; i++) r = r.add(step);
  t.is(r.scalar("cpus"), 100);
  for (let i = 0; i < 999; i++) r = r.subtract(step);
  t.is(r.scalar("cpus"), 0.1);
});

// ---------------------------------------------------------------------------
// Arithmetic

test("resources - add sums scalars and merges ranges", (t) => {
  const a = parse("cpus:1;mem:128;ports:[1-10]");
  const b = parse("cpus:2;disk:5;ports:[11-20,30-40]");
  const sum = a.add(b);
  t.is(sum.toString(), "cpus:3;mem:128;disk:5;ports:[1-20,30-40]");
  t.is(a.toString(), "cpus:1;mem:128;ports:[1-10]", "operands are not changed");
  t.is(b.toString(), "cpus:2;disk:5;ports:[11-20,30-40]");
  t.true(a.add(Resources.empty()).equals(a));
  t.true(Resources.empty().add(a).equals(a));
});

test("resources - subtract requires containment", (t) => {
  const a = parse("cpus:4;mem:1024");
  t.is(a.subtract(parse("cpus:1;mem:1024")).toString(), "cpus:3");
  t.true(a.subtract(a).isEmpty());
  throwsInvalid(t, () => a.subtract(parse("cpus:5")), "not contained");
  throwsInvalid(t, () => a.subtract(parse("gpus:1")), "not contained");
  throwsInvalid(t, () => a.subtract(parse("cpus(web):1")), "not contained");
});

test("resources - subtractSaturating floors at zero", (t) => {
  const a = parse("cpus:4;mem:1024;ports:[1-10]");
  const r = a.subtractSaturating(parse("cpus:5;mem:24;gpus:1;ports:[5-20]"));
  t.is(r.toString(), "mem:1000;ports:[1-4]");
  t.true(a.subtractSaturating(Resources.empty()).equals(a));
  t.true(Resources.empty().subtractSaturating(a).isEmpty());
});

test("resources - subtract splits ranges", (t) => {
  const a = parse("ports:[31000-32000]");
  const r = a.subtract(parse("ports:[31000,31500-31600,32000]"));
  t.deepEqual(r.ranges("ports"), [
    [31001, 31499],
    [31601, 31999],
  ]);
  t.true(r.add(parse("ports:[31000,31500-31600,32000]")).equals(a));
  t.true(parse("ports:[1-5,10-20]").subtract(parse("ports:[1-5,10-20]")).isEmpty());
  t.deepEqual(
    parse("ports:[1-5,10-20,30-40]")
      .subtractSaturating(parse("ports:[3-12,15,35-50]"))
      .ranges("ports"),
    [
      [1, 2],
      [13, 14],
      [16, 20],
      [30, 34],
    ],
  );
});

test("resources - contains compares by name and role", (t) => {
  const a = parse("cpus:4;mem:1024;cpus(web):1;ports:[31000-32000,33000-33010]");
  t.true(a.contains(parse("cpus:4;mem:1024")));
  t.true(a.contains(Resources.empty()));
  t.true(a.contains(a));
  t.true(a.contains(parse("ports:[31000,31500-31600,33005-33010]")));
  t.false(a.contains(parse("cpus:4.001")));
  t.false(a.contains(parse("gpus:1")));
  t.false(a.contains(parse("cpus(web):2")));
  t.false(a.contains(parse("cpus(db):1")));
  t.false(a.contains(parse("ports(web):[31000]")));
  t.false(a.contains(parse("ports:[31999-32001]")));
  t.false(a.contains(parse("ports:[32500]")));
  t.false(Resources.empty().contains(a));
});

test("resources - isEmpty and equals", (t) => {
  t.true(Resources.empty().isEmpty());
  t.true(parse("cpus:0;mem:0").isEmpty());
  t.false(parse("ports:[1]").isEmpty());
  t.true(parse("cpus:0;mem:1").equals(parse("mem:1")));
  t.true(parse("mem:1;cpus:2").equals(parse("cpus:2;mem:1")));
  t.false(parse("cpus:2").equals(parse("cpus(web):2")));
  t.false(parse("cpus:2").equals(parse("cpus:2;mem:1")));
  t.false(parse("ports:[1-2]").equals(parse("ports:[1-3]")));
  t.false(parse("ports:[1-2]").equals(parse("cpus:1")));
});

// ---------------------------------------------------------------------------
// Reservations

test("resources - parses reservations, including nested roles", (t) => {
  const r = parse("cpus:2;cpus(web):1;cpus(eng/web):0.5;mem(eng/web):64;ports(web):[80]");
  t.is(r.scalar("cpus"), 3.5);
  t.deepEqual(r.roles(), ["*", "eng/web", "web"]);
  t.is(r.reserved("eng/web").toString(), "cpus(eng/web):0.5;mem(eng/web):64");
  t.is(r.reserved("web").toString(), "cpus(web):1;ports(web):[80-80]");
  t.is(r.unreserved().toString(), "cpus:2");
  t.true(r.reserved("nobody").isEmpty());
});

test("resources - allocatableTo gives unreserved plus the exact role", (t) => {
  const r = parse("cpus:2;cpus(web):1;cpus(eng/web):0.5;ports:[1-10];ports(web):[20]");
  const web = r.allocatableTo("web");
  t.is(web.toString(), "cpus:2;cpus(web):1;ports:[1-10];ports(web):[20-20]");
  t.is(web.scalar("cpus"), 3);
  t.deepEqual(web.ranges("ports"), [
    [1, 10],
    [20, 20],
  ]);
  t.is(r.allocatableTo("eng").toString(), "cpus:2;ports:[1-10]");
  t.is(r.allocatableTo("eng/web").scalar("cpus"), 2.5);
});

test("resources - flatten and withRole move everything to one role", (t) => {
  const r = parse("cpus:2;cpus(web):1;ports:[1-5];ports(web):[6-10]");
  t.is(r.flatten().toString(), "cpus:3;ports:[1-10]");
  t.is(r.withRole("db").toString(), "cpus(db):3;ports(db):[1-10]");
  t.true(r.reserve("db").equals(r.withRole("db")));
  t.true(r.withRole("*").equals(r.flatten()));
  t.deepEqual(r.withRole("eng/web").roles(), ["eng/web"]);
  throwsInvalid(t, () => r.withRole(""), "role");
  throwsInvalid(t, () => r.withRole("a b"), '"a b"');
});

// ---------------------------------------------------------------------------
// Formatting

test("resources - toString is canonical", (t) => {
  const r = parse(
    "ports:[5-6];zeta:1;bandwidth:3;gpus:1;disk:10;mem:64;cpus(web):1;cpus:0.5;eph:[1-2];cpus(a):2",
  );
  t.is(
    r.toString(),
    "cpus:0.5;cpus(a):2;cpus(web):1;mem:64;disk:10;gpus:1;bandwidth:3;zeta:1;eph:[1-2];ports:[5-6]",
  );
  t.deepEqual(r.names(), ["cpus", "mem", "disk", "gpus", "bandwidth", "zeta", "eph", "ports"]);
  t.is(Resources.empty().toString(), "");
  t.is(String(parse("cpus:1")), "cpus:1");
});

test("resources - toString and parse round trip", (t) => {
  const text = "cpus:0.001;cpus(eng/web):12.5;mem:4096;ports:[1-1,3-5];ports(x):[9-9]";
  const r = parse(text);
  t.is(r.toString(), text);
  t.true(parse(r.toString()).equals(r));
});

// ---------------------------------------------------------------------------
// JSON

test("resources - toJSON uses name(role) keys and omits zeros", (t) => {
  const r = parse("cpus:2;cpus(web):1;mem:0;ports:[31000-32000];disk:0.25");
  const json: ResourcesJson = r.toJSON();
  t.deepEqual(json, { cpus: 2, "cpus(web)": 1, disk: 0.25, ports: [[31000, 32000]] });
  t.deepEqual(Object.keys(json), ["cpus", "cpus(web)", "disk", "ports"]);
  t.is(JSON.stringify(r), '{"cpus":2,"cpus(web)":1,"disk":0.25,"ports":[[31000,32000]]}');
  t.deepEqual(Resources.empty().toJSON(), {});
});

test("resources - fromJSON round trips", (t) => {
  const r = parse("cpus:2;cpus(eng/web):1.5;mem:128;ports:[1-5,7];ports(web):[80]");
  t.true(Resources.fromJSON(r.toJSON()).equals(r));
  t.true(Resources.fromJSON(JSON.parse(JSON.stringify(r))).equals(r));
  t.true(Resources.fromJSON({ "cpus(*)": 1, cpus: 1 }).equals(parse("cpus:2")));
  t.true(
    Resources.fromJSON({
      ports: [
        [5, 6],
        [1, 4],
      ],
    }).equals(parse("ports:[1-6]")),
  );
  t.true(Resources.fromJSON({ cpus: 0, ports: [] }).isEmpty());
});

test("resources - fromJSON errors name the bad key", (t) => {
  const from = Resources.fromJSON;
  throwsInvalid(t, () => from(null), "not an object");
  throwsInvalid(t, () => from([]), "not an object");
  throwsInvalid(t, () => from("cpus:1"), "not an object");
  throwsInvalid(t, () => from({ cpus: "1" }), '"cpus"', "number or a list");
  throwsInvalid(t, () => from({ cpus: -1 }), '"cpus"', "negative");
  throwsInvalid(t, () => from({ cpus: Number.NaN }), '"cpus"', "not a number");
  throwsInvalid(t, () => from({ cpus: Number.POSITIVE_INFINITY }), '"cpus"', "finite");
  throwsInvalid(t, () => from({ "cpus(": 1 }), '"cpus("');
  throwsInvalid(t, () => from({ "cpus(a b)": 1 }), '"cpus(a b)"');
  throwsInvalid(t, () => from({ "": 1 }), "name is empty");
  throwsInvalid(t, () => from({ ports: [[1]] }), '"ports"', "pair");
  throwsInvalid(t, () => from({ ports: [1, 2] }), '"ports"', "pair");
  throwsInvalid(t, () => from({ ports: [[1, 2.5]] }), '"ports"', "integers");
  throwsInvalid(t, () => from({ ports: [[-1, 2]] }), '"ports"', "negative");
  throwsInvalid(t, () => from({ ports: [[5, 1]] }), '"ports"', "begin greater than end");
  throwsInvalid(t, () => from({ ports: 1 }), '"ports"', "ranges");
  throwsInvalid(t, () => from({ "mem(web)": [[1, 2]] }), '"mem(web)"', "scalar");
});

test("resources - scalars() convenience constructor", (t) => {
  t.true(Resources.scalars({ cpus: 1, mem: 128 }).equals(parse("cpus:1;mem:128")));
  t.true(Resources.scalars({ "cpus(web)": 1 }).equals(parse("cpus(web):1")));
  throwsInvalid(t, () => Resources.scalars({ cpus: -1 }), '"cpus"');
});

// ---------------------------------------------------------------------------
// Properties

const ROLES = ["*", "web", "eng/web", "db"] as const;
const SCALAR_NAMES = ["cpus", "mem", "disk", "gpus", "bandwidth"] as const;
const RANGE_NAMES = ["ports", "eph"] as const;

const arbScalar = fc.record({
  name: fc.constantFrom(...SCALAR_NAMES),
  role: fc.constantFrom(...ROLES),
  milli: fc.integer({ min: 0, max: 100_000_000 }),
});

const arbRange = fc
  .record({
    name: fc.constantFrom(...RANGE_NAMES),
    role: fc.constantFrom(...ROLES),
    begin: fc.integer({ min: 0, max: 200 }),
    length: fc.integer({ min: 0, max: 30 }),
  })
  .map(({ name, role, begin, length }) => ({ name, role, begin, end: begin + length }));

const arbResources: fc.Arbitrary<Resources> = fc
  .record({
    scalars: fc.array(arbScalar, { maxLength: 8 }),
    ranges: fc.array(arbRange, { maxLength: 6 }),
  })
  .map(({ scalars, ranges }) => {
    const parts: string[] = [];
    for (const s of scalars) {
      const key = s.role === "*" ? s.name : `${s.name}(${s.role})`;
      parts.push(`${key}:${(s.milli / 1000).toFixed(3)}`);
    }
    for (const r of ranges) {
      const key = r.role === "*" ? r.name : `${r.name}(${r.role})`;
      parts.push(`${key}:[${r.begin}-${r.end}]`);
    }
    return parse(parts.join(";"));
  });

test("resources - property: (a + b) - b = a", (t) => {
  fc.assert(
    fc.property(arbResources, arbResources, (a, b0) => {
      // Ranges are sets: the identity needs b's ranges disjoint from a's (per name and role).
      const b = b0.subtractSaturating(a);
      return a.add(b).subtract(b).equals(a);
    }),
  );
  t.pass();
});

test("resources - property: (a + b) - b = a for scalars exactly", (t) => {
  const arbScalarsOnly = fc
    .array(arbScalar, { maxLength: 8 })
    .map((list) =>
      parse(
        list
          .map((s) => `${s.role === "*" ? s.name : `${s.name}(${s.role})`}:${s.milli / 1000}`)
          .join(";"),
      ),
    );
  fc.assert(fc.property(arbScalarsOnly, arbScalarsOnly, (a, b) => a.add(b).subtract(b).equals(a)));
  t.pass();
});

test("resources - property: a + b contains a and b", (t) => {
  fc.assert(
    fc.property(arbResources, arbResources, (a, b) => {
      const sum = a.add(b);
      return sum.contains(a) && sum.contains(b);
    }),
  );
  t.pass();
});

test("resources - property: parse(toString(a)) = a and fromJSON(toJSON(a)) = a", (t) => {
  fc.assert(
    fc.property(arbResources, (a) => {
      const text = a.toString();
      return (
        Resources.parse(text).equals(a) &&
        Resources.parse(text).toString() === text &&
        Resources.fromJSON(JSON.parse(JSON.stringify(a.toJSON()))).equals(a)
      );
    }),
  );
  t.pass();
});

test("resources - property: add is commutative and associative", (t) => {
  fc.assert(
    fc.property(arbResources, arbResources, arbResources, (a, b, c) => {
      return (
        a.add(b).equals(b.add(a)) &&
        a
          .add(b)
          .add(c)
          .equals(a.add(b.add(c)))
      );
    }),
  );
  t.pass();
});

test("resources - property: subtractSaturating of a contained value equals subtract", (t) => {
  fc.assert(
    fc.property(arbResources, arbResources, (a, b) => {
      const sum = a.add(b);
      return (
        sum.subtractSaturating(a).equals(sum.subtract(a)) && a.subtractSaturating(sum).isEmpty()
      );
    }),
  );
  t.pass();
});

test("resources - property: flatten keeps totals and allocatableTo is contained", (t) => {
  fc.assert(
    fc.property(arbResources, fc.constantFrom(...ROLES), (a, role) => {
      const flat = a.flatten();
      for (const name of SCALAR_NAMES) if (flat.scalar(name) !== a.scalar(name)) return false;
      for (const name of RANGE_NAMES) {
        if (JSON.stringify(flat.ranges(name)) !== JSON.stringify(a.ranges(name))) return false;
      }
      return a.contains(a.allocatableTo(role)) && a.contains(a.reserved(role));
    }),
  );
  t.pass();
});

test("resources - quantities keep the scalars and drop ranges", (t) => {
  const r = Resources.parse("cpus:1;mem:64;cpus(web):2;ports:[31000-32000]");
  t.is(r.quantities().toString(), "cpus:1;cpus(web):2;mem:64");
  const scalarsOnly = Resources.parse("cpus:1");
  t.is(scalarsOnly.quantities(), scalarsOnly);
});
