/**
 * The program of the default executor's spawner helper, as the source text
 * `node -e` runs (CommonJS, Node built-ins only, so that it starts in plain
 * `node` from sources and from compiled JavaScript alike).
 *
 * Why a helper: Node's `spawn` forks the calling process and blocks until
 * the child has exec'd, and a fork costs in proportion to the memory of the
 * process that forks (its page tables are copied, then torn down by the
 * child's exec). The executor (NATS client, codec, validators) is several
 * times the size of this program, and a spawn in it stalls its event loop
 * (updates, acknowledgements) for the whole fork. The helper forks instead,
 * on the other core, from a small heap.
 *
 * Protocol: one JSON object per line on stdin and stdout.
 * - request: `{ id, file, args, cwd, env, stdout, stderr, uid?, gid? }`; the
 *   helper appends the child's output to the files `stdout` and `stderr`.
 * - replies: `{ id, ev: "spawn", pid }`, `{ id, ev: "error", message }` (the
 *   program did not start), `{ id, ev: "exit", code, signal }`.
 * A few requests are spawned per event-loop turn (the executor's own pace,
 * `DEFAULT_EXECUTOR_SPAWNS_PER_TURN`) and the replies of a turn
 * leave in one write, so a burst of requests does not hold back the replies
 * of the children already started. The helper ignores SIGINT, SIGTERM and
 * SIGHUP (a terminal's Ctrl-C is for its executor, which ends the tasks) and
 * SIGUSR2 (the bench's "write your profile" to each Node process of its work
 * dir), and exits when its stdin closes: its executor is gone.
 */
import { DEFAULT_EXECUTOR_SPAWNS_PER_TURN } from "../../infra/defaults.ts";

/** The helper's source text (see the module comment). */
export const SPAWNER_HELPER_SOURCE = `"use strict";
const { spawn } = require("node:child_process");
const fs = require("node:fs");
const PER_TURN = ${DEFAULT_EXECUTOR_SPAWNS_PER_TURN};
for (const s of ["SIGINT", "SIGTERM", "SIGHUP", "SIGUSR2"]) process.on(s, () => {});
let input = "";
const queue = [];
let out = [];
let scheduled = false;
const flush = () => {
  scheduled = false;
  if (out.length > 0) {
    const text = out.join("\\n") + "\\n";
    out = [];
    process.stdout.write(text);
  }
};
const send = (m) => {
  out.push(JSON.stringify(m));
  if (!scheduled) { scheduled = true; setImmediate(flush); }
};
const start = (r) => {
  let o, e;
  try {
    o = fs.openSync(r.stdout, "a");
    e = fs.openSync(r.stderr, "a");
    const options = { cwd: r.cwd, env: r.env, stdio: ["ignore", o, e] };
    if (typeof r.uid === "number") { options.uid = r.uid; options.gid = r.gid; }
    const child = spawn(r.file, r.args, options);
    child.once("spawn", () => send({ id: r.id, ev: "spawn", pid: child.pid }));
    child.once("error", (err) => { if (child.pid === undefined) send({ id: r.id, ev: "error", message: err.message }); });
    child.once("exit", (code, signal) => send({ id: r.id, ev: "exit", code, signal }));
  } catch (err) {
    send({ id: r.id, ev: "error", message: err instanceof Error ? err.message : String(err) });
  } finally {
    if (o !== undefined) fs.closeSync(o);
    if (e !== undefined) fs.closeSync(e);
  }
};
let pumping = false;
const pump = () => {
  pumping = false;
  for (let n = 0; n < PER_TURN && queue.length > 0; n++) start(queue.shift());
  if (queue.length > 0) { pumping = true; setImmediate(pump); }
};
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => {
  input += chunk;
  let at;
  while ((at = input.indexOf("\\n")) >= 0) {
    const line = input.slice(0, at);
    input = input.slice(at + 1);
    let r;
    try { r = JSON.parse(line); } catch { process.stderr.write("agora spawner: a request that is not JSON\\n"); continue; }
    queue.push(r);
  }
  if (!pumping && queue.length > 0) { pumping = true; setImmediate(pump); }
});
process.stdin.on("end", () => process.exit(0));
`;
