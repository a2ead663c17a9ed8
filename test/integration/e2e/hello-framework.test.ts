/**
 * examples/hello-framework.ts keeps working: run as a user runs it, against
 * a master and an agent in this test process.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import test from "ava";
import { Subjects } from "../../../protocol/subjects.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { startCluster } from "./helpers.ts";

const EXAMPLE = fileURLToPath(new URL("../../../examples/hello-framework.ts", import.meta.url));

const nats = useNatsServer(test);

test("hello-framework - launches its echo tasks, sees them finish and exits 0", async (t) => {
  const subjects = new Subjects("hello");
  const cluster = await startCluster({
    url: nats().url,
    subjects,
    agents: [{ hostname: "agent-1", resources: "cpus:1;mem:1024" }],
  });
  t.teardown(() => cluster.stop());
  const child = spawn(process.execPath, ["--import", "tsx", EXAMPLE, "3"], {
    env: { ...process.env, AGORA_NATS_URL: nats().url, AGORA_SUBJECT_PREFIX: subjects.prefix },
    stdio: ["ignore", "pipe", "pipe"],
  });
  t.teardown(() => child.kill("SIGKILL"));
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => {
    stdout += c;
  });
  child.stderr.setEncoding("utf8").on("data", (c: string) => {
    stderr += c;
  });
  const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
  t.is(code, 0, `${stdout}\n${stderr}`);
  t.is(stdout.match(/: TASK_FINISHED/g)?.length, 3, stdout);
  t.regex(stdout, /done: 3 finished, 0 failed/);
});
