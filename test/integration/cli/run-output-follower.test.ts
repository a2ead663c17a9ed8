/**
 * `agora run`'s output follower (cli/commands/run-output.ts) against a
 * scripted agent on a real nats-server: it reads a growing file whole in
 * 512 KiB slices, and falls back to the terminal update's tail, saying so,
 * when no agent answers.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import anyTest, { type TestFn } from "ava";
import { OutputFollower, type OutputSink } from "../../../cli/commands/run-output.ts";
import { closeGracefully, connect } from "../../../infra/connect.ts";
import { serve } from "../../../infra/dispatch.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { Metrics } from "../../../infra/metrics.ts";
import { FILES_READ_MAX_LENGTH } from "../../../protocol/files.ts";
import { Subjects } from "../../../protocol/subjects.ts";
import { useNatsServer } from "../../helpers/nats.ts";

const test = anyTest as TestFn<{ nc: NatsConnection }>;
const server = useNatsServer(test);
const subjects = new Subjects("follow");

test.beforeEach(async (t) => {
  t.context.nc = await connect({ servers: server().url, name: "follower-test" });
});

test.afterEach.always(async (t) => {
  await closeGracefully(t.context.nc);
});

function collector(): OutputSink & { bytes(): Buffer } {
  const chunks: Uint8Array[] = [];
  return {
    write: async (data) => {
      chunks.push(Uint8Array.from(data));
    },
    bytes: () => Buffer.concat(chunks),
  };
}

test("agora run output - a file growing while followed is read whole, in slices of at most 512 KiB", async (t) => {
  const { nc } = t.context;
  const content = Buffer.alloc(3 * FILES_READ_MAX_LENGTH + 123);
  for (let i = 0; i < content.length; i++) content[i] = (i * 7) % 251;
  let size = 0;
  let largest = 0;
  let grown = () => {};
  const full = new Promise<void>((resolve) => {
    grown = resolve;
  });
  const sub = serve(
    nc,
    subjects.agentFilesOf("agent-1", "default"),
    { types: ["files.read"], logger: silentLogger(), metrics: new Metrics() },
    (msg) => {
      if (msg.file === "stderr") {
        return { type: "files.data", data: new Uint8Array(0), offset: 0, size: 0, eof: true };
      }
      // The file grows by a slice at each read, as a task's output does.
      size = Math.min(content.length, size + FILES_READ_MAX_LENGTH - 1000);
      if (size === content.length) grown();
      const end = Math.min(size, msg.offset + msg.length);
      largest = Math.max(largest, end - msg.offset);
      return {
        type: "files.data",
        data: content.subarray(msg.offset, end),
        offset: msg.offset,
        size,
        eof: end >= size,
        sandbox: "/sandbox",
      };
    },
  );
  t.teardown(() => sub.unsubscribe());
  await nc.flush();
  const stdout = collector();
  const stderr = collector();
  const follower = new OutputFollower({
    nc,
    subjects,
    frameworkId: "fw-1",
    principal: "default",
    taskId: "task-1",
    agentId: "agent-1",
    hostname: "host-1",
    sinks: { stdout, stderr },
  });
  follower.start();
  // The task ends once its output is complete: the follower then reads it to the end.
  await full;
  t.true(await follower.finish(undefined));
  t.true(stdout.bytes().equals(content), "every byte once, in order");
  t.is(stderr.bytes().length, 0);
  t.true(largest <= FILES_READ_MAX_LENGTH);
});

test("agora run output - no agent answers: the terminal update's tail is written instead", async (t) => {
  const stdout = collector();
  const stderr = collector();
  const follower = new OutputFollower({
    nc: t.context.nc,
    subjects,
    frameworkId: "fw-1",
    principal: "default",
    taskId: "task-1",
    agentId: "nobody",
    hostname: undefined,
    sinks: { stdout, stderr },
  });
  const tail = Buffer.from("the tail\n");
  // the line saying what was not read goes to the CLI's own stderr (printError)
  const printed: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => {
    printed.push(String(chunk));
    return true;
  }) as typeof process.stderr.write;
  let whole: boolean;
  try {
    whole = await follower.finish(tail);
  } finally {
    process.stderr.write = write;
  }
  t.false(whole, "the files were not read");
  t.is(stdout.bytes().toString(), "the tail\n");
  t.regex(
    printed.join(""),
    /^agora: could not read the sandbox from agent nobody \(.+\); the last 9 bytes of stdout follow$/m,
    "nothing is cut silently",
  );
});
