import test from "ava";
import { AgoraError, ErrorCode } from "../../../protocol/errors.ts";
import {
  applyOperation,
  type ResourceOperation,
  totalWithCheckpointed,
  validateOperation,
} from "../../../protocol/operations.ts";
import { Resources, reservationOf } from "../../../protocol/resources.ts";

const parse = Resources.parse;
const op = (type: ResourceOperation["type"], text: string): ResourceOperation => ({
  type,
  resources: parse(text),
});

test("resources - dynamic reservations and volumes keep their identity through text and JSON", (t) => {
  const text = "cpus:1;cpus(web):2;cpus(web,alice,env=prod,team=a):3;disk(web,alice)[v1:data]:512";
  const r = parse(text);
  t.is(r.toString(), text);
  t.true(Resources.fromJSON(r.toJSON()).equals(r));
  t.deepEqual(Object.keys(r.toJSON()), [
    "cpus",
    "cpus(web)",
    "cpus(web,alice,env=prod,team=a)",
    "disk(web,alice)[v1:data]",
  ]);
  // labels are sorted, so the same reservation written in another order is the same resource
  t.true(
    parse("cpus(web,alice,team=a,env=prod):3").equals(parse("cpus(web,alice,env=prod,team=a):3")),
  );
  // a dynamic reservation is another resource than a static one of the same role
  t.false(parse("cpus(web,alice):1").equals(parse("cpus(web):1")));
  t.false(parse("cpus(web,alice):1").contains(parse("cpus(web):1")));
  // both are offered to the role
  t.is(r.allocatableTo("web").scalar("cpus"), 6);
  t.is(r.allocatableTo("db").scalar("cpus"), 1);
  t.deepEqual(r.volumes(), [
    { role: "web", persistence: { id: "v1", containerPath: "data" }, mb: 512 },
  ]);
  t.is(
    r.checkpointed().toString(),
    "cpus(web,alice,env=prod,team=a):3;disk(web,alice)[v1:data]:512",
  );
  t.is(r.base().toString(), "cpus:4;cpus(web):2;disk:512");
});

test("resources - bad reservations and volumes are refused naming the part", (t) => {
  for (const [text, fragment] of [
    ["cpus(*,alice):1", "needs a role other than"],
    ["disk[v1:data]:1", "must be on reserved disk"],
    ["disk(web)[v1:../x]:1", "invalid container path"],
    ["disk(web)[v1:/abs]:1", "invalid container path"],
    ["disk(web)[v1]:1", "[id:containerPath]"],
    ["cpus(web,al ice):1", "invalid principal"],
    ["cpus(web,alice,team):1", "not key=value"],
    ["cpus(web,alice,a=1,a=2):1", "given twice"],
  ] as const) {
    const err = t.throws(() => parse(text), { instanceOf: AgoraError }, text);
    t.is(err?.code, ErrorCode.InvalidResources);
    t.true(err?.message.includes(fragment), `${text}: ${err?.message}`);
  }
});

test("operations - reserve, create, destroy and unreserve round-trip an agent's resources", (t) => {
  const total = parse("cpus:4;mem:4096;disk:2048");
  const reserve = op("reserve", "cpus(web,alice):1;disk(web,alice):1024");
  validateOperation(reserve);
  const reserved = applyOperation(total, reserve);
  t.is(reserved.toString(), "cpus:3;cpus(web,alice):1;mem:4096;disk:1024;disk(web,alice):1024");
  const create = op("create", "disk(web,alice)[v1:data]:1024");
  validateOperation(create);
  const created = applyOperation(reserved, create);
  t.is(
    created.toString(),
    "cpus:3;cpus(web,alice):1;mem:4096;disk:1024;disk(web,alice)[v1:data]:1024",
  );
  // the same id twice in one role is refused
  t.throws(
    () =>
      applyOperation(
        created.add(parse("disk(web,alice):5")),
        op("create", "disk(web,alice)[v1:x]:5"),
      ),
    {
      message: /exists already/,
    },
  );
  const destroyed = applyOperation(created, op("destroy", "disk(web,alice)[v1:data]:1024"));
  t.true(destroyed.equals(reserved));
  const back = applyOperation(destroyed, op("unreserve", "cpus(web,alice):1;disk(web,alice):1024"));
  t.true(back.equals(total));
  t.is(totalWithCheckpointed(total, created.checkpointed()).toString(), created.toString());
});

test("operations - what is not there or of the wrong shape is refused", (t) => {
  const total = parse("cpus:1;disk(web):10");
  t.throws(() => applyOperation(total, op("reserve", "cpus(web,alice):2")), {
    message: /not available/,
  });
  t.throws(() => validateOperation(op("reserve", "cpus(web):1")), {
    message: /not dynamically reserved/,
  });
  t.throws(() => validateOperation(op("unreserve", "disk(web,a)[v:p]:1")), {
    message: /persistent volume/,
  });
  t.throws(() => validateOperation(op("create", "disk(web):1")), {
    message: /not a persistent volume/,
  });
  // a volume on statically reserved disk
  const created = applyOperation(total, op("create", "disk(web)[v:p]:10"));
  t.is(created.toString(), "cpus:1;disk(web)[v:p]:10");
  t.is(created.base().toString(), "cpus:1;disk(web):10");
  t.throws(() => totalWithCheckpointed(parse("cpus:1"), created.checkpointed()), {
    message: /do not hold/,
  });
  t.deepEqual(reservationOf("bob", { z: "1", a: "2" }), {
    principal: "bob",
    labels: [
      ["a", "2"],
      ["z", "1"],
    ],
  });
  t.is(
    parse("cpus:2")
      .withReservation("web", reservationOf("bob", { a: "2" }))
      .toString(),
    "cpus(web,bob,a=2):2",
  );
});
