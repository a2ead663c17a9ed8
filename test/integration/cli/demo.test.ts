/**
 * `agora demo`: the seed's walk-through, narrated step by step, then nothing
 * left running.
 */
import net from "node:net";
import test from "ava";
import { runAgora } from "./helpers.ts";

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

test("agora demo - narrates the seven steps from live events and exits 0", async (t) => {
  const r = await runAgora(["demo"], { timeoutMs: 55_000 });
  t.is(r.code, 0, `${r.stdout}\n${r.stderr}`);
  for (let step = 1; step <= 7; step++) t.regex(r.stdout, new RegExp(`^ ${step}\\. `, "m"));
  t.regex(r.stdout, /^ 1\. agent-1 reports .* ⟨4 CPUs, 4 GB⟩/m);
  t.regex(r.stdout, /^ 3\. .*framework-1 .*⟨4 CPUs, 4 GB⟩/m);
  t.regex(r.stdout, /⟨1 CPU, 1 GB⟩.* offers it to framework-2/);
  const port = Number(/NATS at nats:\/\/127\.0\.0\.1:(\d+)/.exec(r.stdout)?.[1]);
  t.true(port > 0);
  t.false(await accepts(port), "the embedded nats-server is gone");
});
