import test from "ava";
import { Metrics } from "../../../infra/metrics.ts";

test("metrics - inc, get and snapshot keep their meaning", (t) => {
  const m = new Metrics();
  m.inc("offers_created");
  m.inc("offers_created", 2);
  t.is(m.get("offers_created"), 3);
  t.is(m.get("never"), 0);
  t.deepEqual(m.snapshot(), { offers_created: 3 });
});

test("metrics - counters reach the Prometheus text with the actor's prefix, as they are at scrape", async (t) => {
  const m = new Metrics({
    prefix: "agora_master_",
    names: { policy_fallbacks: "agora_policy_fallbacks_total" },
  });
  m.inc("offers_created", 3);
  m.inc("policy_fallbacks");
  let text = await m.exposition();
  t.regex(text, /^# TYPE agora_master_offers_created_total counter$/m);
  t.regex(text, /^agora_master_offers_created_total 3$/m);
  t.regex(text, /^agora_policy_fallbacks_total 1$/m);
  m.inc("offers_created");
  m.inc("tasks_added");
  text = await m.exposition();
  t.regex(text, /^agora_master_offers_created_total 4$/m);
  t.regex(text, /^agora_master_tasks_added_total 1$/m);
});

test("metrics - a pre-bound cell and labeled counters are exported with their label", async (t) => {
  const m = new Metrics({ prefix: "agora_agent_" });
  const cell = m.cell("messages", "type", "agent.runTask");
  cell.value++;
  cell.value++;
  m.incLabeled("invalid_messages", "reason", "INVALID_MESSAGE");
  t.is(m.cell("messages", "type", "agent.runTask"), cell);
  t.deepEqual(m.labeled("messages"), { "agent.runTask": 2 });
  const text = await m.exposition();
  t.regex(text, /^agora_agent_messages_total\{type="agent.runTask"\} 2$/m);
  t.regex(text, /^agora_agent_invalid_messages_total\{reason="INVALID_MESSAGE"\} 1$/m);
  t.deepEqual(m.snapshot(), {});
});

test("metrics - a gauge is computed when scraped; a histogram is registered once by name", async (t) => {
  const m = new Metrics({ prefix: "agora_master_" });
  let agents = 2;
  m.gauge("agora_master_agents", "agents", ["status"], (g) => g.set({ status: "active" }, agents));
  m.gauge("agora_master_agents", "again", ["status"], () => t.fail("registered twice"));
  const h = m.histogram("agora_allocator_allocation_run_seconds", "cycle", [0.01, 0.1]);
  t.is(m.histogram("agora_allocator_allocation_run_seconds", "cycle", [0.01, 0.1]), h);
  h.observe(0.05);
  t.regex(await m.exposition(), /^agora_master_agents\{status="active"\} 2$/m);
  agents = 5;
  const text = await m.exposition();
  t.regex(text, /^agora_master_agents\{status="active"\} 5$/m);
  t.regex(text, /^agora_allocator_allocation_run_seconds_bucket\{le="0.1"\} 1$/m);
  t.regex(text, /^agora_allocator_allocation_run_seconds_count 1$/m);
});

test("metrics - process metrics carry the actor's prefix", async (t) => {
  const m = new Metrics({ prefix: "agora_policy_" });
  m.collectProcessMetrics();
  m.collectProcessMetrics();
  t.regex(await m.exposition(), /^agora_policy_process_cpu_user_seconds_total /m);
});
