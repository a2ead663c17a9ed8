import test from "ava";
import { formatLogLine, lineStream } from "../../../infra/log-format.ts";

test("log format - a JSON record becomes one text line with its fields", (t) => {
  const line = formatLogLine(
    {
      level: 40,
      time: Date.UTC(2026, 0, 2, 3, 4, 5, 678),
      pid: 1,
      actor: "scheduler",
      msg: "nats disconnected",
      server: "127.0.0.1:4222",
      reason: "connection refused",
      err: { message: "boom", stack: "at x" },
    },
    false,
  );
  t.is(
    line,
    '03:04:05.678 WARN  scheduler: nats disconnected server=127.0.0.1:4222 reason="connection refused" err="boom"',
  );
  t.false(line.includes("{"));
});

test("log format - the stream rewrites JSON lines and passes other text through", (t) => {
  const written: string[] = [];
  const out = { write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
  lineStream(out, false).write(`${JSON.stringify({ level: 30, time: 0, msg: "up" })}\nplain\n`);
  t.deepEqual(written, ["00:00:00.000 INFO  up\n", "plain\n"]);
});
