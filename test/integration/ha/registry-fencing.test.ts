/**
 * The KV registry's write fencing on a real nats-server: each put is a
 * compare-and-swap on the revision its master last read or wrote, so a write
 * from a master that lost the lead (sent after its lease check, e.g. paused
 * in between) never replaces what the new leader wrote, and the new leader
 * writes over what such a write left.
 */
import test from "ava";
import { openKvRegistry } from "../../../actors/master/registry-kv.ts";
import { closeGracefully, connect } from "../../../infra/connect.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { Metrics } from "../../../infra/metrics.ts";
import { StoreKeys } from "../../../protocol/store.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { freshSubjects } from "../master/helpers.ts";

const nats = useNatsServer(test);

test("ha registry - a write from a master that lost the lead never replaces the new leader's", async (t) => {
  const nc = await connect({ servers: nats().url, name: "test-registry" });
  t.teardown(() => closeGracefully(nc));
  const { prefix } = freshSubjects();
  const leads = { old: true, next: false };
  const open = (who: "old" | "next", metrics: Metrics) =>
    openKvRegistry({
      nc,
      prefix,
      replicas: 1,
      logger: silentLogger(),
      metrics,
      isLeading: () => leads[who],
    });
  const oldMetrics = new Metrics();
  const nextMetrics = new Metrics();
  const old = (await open("old", oldMetrics)).registry;
  const next = (await open("next", nextMetrics)).registry;
  const x = StoreKeys.agent("m1-S0");
  const y = StoreKeys.agent("m1-S1");
  const bytes = (s: string) => new TextEncoder().encode(s);
  const read = async () =>
    new Map(
      Array.from(await next.entries(), ([k, v]) => [k, new TextDecoder().decode(v)] as const),
    );

  await old.put(x, bytes("old-1"));
  await old.put(x, bytes("old-2"));
  // the lead passes: the next leader reads the registry, then writes x
  leads.old = false;
  leads.next = true;
  await next.entries();
  await next.put(x, bytes("next-1"));
  // the old leader's late write (checked while it led, sent after) is refused
  await t.throwsAsync(() => old.put(x, bytes("old-late")) as Promise<void>);
  t.is(oldMetrics.get("registry_write_conflicts"), 1);
  t.is((await read()).get(x), "next-1");
  // a late write to a key the new leader has not written yet lands, but the leader writes over it
  await old.put(y, bytes("old-stray"));
  await next.put(y, bytes("next-y"));
  t.is(nextMetrics.get("registry_write_conflicts"), 1);
  const after = await read();
  t.is(after.get(x), "next-1");
  t.is(after.get(y), "next-y");
  // writes of one key keep their order even when pipelined
  await Promise.all([next.put(x, bytes("a")), next.put(x, bytes("b")), next.put(x, bytes("c"))]);
  t.is((await read()).get(x), "c");
});
