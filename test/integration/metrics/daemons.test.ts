/**
 * `agora master --http-port 0` and `agora agent --http-port 0` as separate
 * processes: each logs the URL it serves, `/health` and `/metrics` answer,
 * and both still stop cleanly.
 */
import path from "node:path";
import test from "ava";
import { useNatsServer } from "../../helpers/nats.ts";
import { type AgoraProcess, runAgora, startAgora } from "../cli/helpers.ts";
import { eventually, tempDir, WAIT_MS } from "../e2e/helpers.ts";

const nats = useNatsServer(test);

/** The URL the process logged as its HTTP endpoints. */
async function loggedUrl(proc: AgoraProcess): Promise<string> {
  const line = await proc.stderr.waitFor((l) => l.includes("http endpoints listening"), {
    timeoutMs: WAIT_MS,
  });
  const url = (JSON.parse(line) as { url?: string }).url;
  if (url === undefined) throw new Error(`no url in ${line}`);
  return url;
}

test("metrics daemons - master and agent serve /health and /metrics on the port they log", async (t) => {
  const work = await tempDir("agora-metrics-daemons-");
  t.teardown(() => work.remove());
  const common = ["--nats", nats().url, "--prefix", "metricsd", "--http-port", "0"];
  const env = { AGORA_LOG_LEVEL: "info" };
  const master = startAgora(["master", ...common, "--registry", "memory"], { env });
  t.teardown(() => master.child.kill("SIGKILL"));
  const masterUrl = await loggedUrl(master);
  const agent = startAgora(
    [
      "agent",
      ...common,
      "--resources",
      "cpus:1;mem:512",
      "--hostname",
      "metrics-agent",
      "--isolation",
      "none",
      "--work-dir",
      path.join(work.dir, "agent"),
    ],
    { env },
  );
  t.teardown(() => agent.child.kill("SIGKILL"));
  const agentUrl = await loggedUrl(agent);

  const health = await fetch(`${masterUrl}/health`);
  t.is(health.status, 200);
  t.is(((await health.json()) as { leader: boolean }).leader, true);
  await eventually(async () => {
    const text = await (await fetch(`${masterUrl}/metrics`)).text();
    return text.includes('agora_master_agents{status="active"} 1');
  }, "the master's /metrics to count the agent");
  const agentHealth = await eventually(async () => {
    const body = (await (await fetch(`${agentUrl}/health`)).json()) as { registered: boolean };
    return body.registered ? body : undefined;
  }, "the agent's /health to say registered");
  t.true(agentHealth.registered);
  t.regex(await (await fetch(`${agentUrl}/metrics`)).text(), /^agora_agent_registered 1$/m);

  agent.child.kill("SIGTERM");
  master.child.kill("SIGINT");
  const [a, m] = await Promise.all([agent.result, master.result]);
  t.is(a.code, 0, a.stderr);
  t.is(m.code, 0, m.stderr);
});

test("metrics daemons - agora dev prints the master's and agents' URLs, and they answer", async (t) => {
  const work = await tempDir("agora-metrics-dev-");
  t.teardown(() => work.remove());
  const dev = startAgora(
    ["dev", "--nats-port", "0", "--agents", "1", "--agent-resources", "cpus:1;mem:512"],
    { cwd: work.dir },
  );
  t.teardown(() => dev.child.kill("SIGKILL"));
  const masterLine = await dev.stdout.waitFor((l) => l.trim().startsWith("master: http://"), {
    timeoutMs: 30_000,
    what: "the master's URLs",
  });
  const agentLine = await dev.stdout.waitFor((l) => l.trim().startsWith("agent-1:"), {
    timeoutMs: WAIT_MS,
  });
  const masterUrl = /http:\/\/[\d.]+:\d+/.exec(masterLine)?.[0];
  const agentUrl = /http:\/\/[\d.]+:\d+/.exec(agentLine)?.[0];
  if (masterUrl === undefined || agentUrl === undefined) {
    throw new Error(`no URLs in ${masterLine} / ${agentLine}`);
  }
  const state = (await (await fetch(`${masterUrl}/state`)).json()) as {
    agents: Array<{ hostname: string }>;
  };
  t.deepEqual(
    state.agents.map((a) => a.hostname),
    ["agent-1"],
  );
  const agent = (await (await fetch(`${agentUrl}/state`)).json()) as { hostname: string };
  t.is(agent.hostname, "agent-1");
  dev.child.kill("SIGINT");
  t.is((await dev.result).code, 0);
});

test("metrics daemons - a taken --http-port is a one-line error, exit non-zero", async (t) => {
  const holder = startAgora(
    [
      "master",
      "--nats",
      nats().url,
      "--prefix",
      "taken1",
      "--registry",
      "memory",
      "--http-port",
      "0",
    ],
    { env: { AGORA_LOG_LEVEL: "info" } },
  );
  t.teardown(() => holder.child.kill("SIGKILL"));
  const port = new URL(await loggedUrl(holder)).port;
  const second = await runAgora([
    "master",
    "--nats",
    nats().url,
    "--prefix",
    "taken2",
    "--registry",
    "memory",
    "--http-port",
    port,
  ]);
  t.not(second.code, 0);
  t.regex(second.stderr, new RegExp(`--http-port ${port}: cannot listen`));
  holder.child.kill("SIGINT");
  t.is((await holder.result).code, 0);
});
