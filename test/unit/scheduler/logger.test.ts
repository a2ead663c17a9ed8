/**
 * The framework SDKs take any logger with the methods of `Logger`
 * (infra/logger.ts): pino's satisfies it, and so does a framework's own.
 */
import test from "ava";
import { pino } from "pino";
import { SchedulerDriver } from "../../../actors/scheduler/driver.ts";
import type { Logger } from "../../../infra/logger.ts";

/** A logger of a framework's own: records `[level, bindings, fields, message]`. */
function recordingLogger(lines: unknown[][], bindings: Record<string, unknown> = {}): Logger {
  const at =
    (level: string) =>
    (fields: object | string, message?: string): void => {
      if (typeof fields === "string") lines.push([level, bindings, {}, fields]);
      else lines.push([level, bindings, fields, message]);
    };
  return {
    level: "debug",
    trace: at("trace"),
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    fatal: at("fatal"),
    child: (more) => recordingLogger(lines, { ...bindings, ...more }),
  };
}

test("logger - the scheduler driver logs through a framework's own logger, with its bindings", async (t) => {
  const lines: unknown[][] = [];
  const driver = new SchedulerDriver({
    servers: "nats://127.0.0.1:1",
    framework: { name: "own-logger" },
    logger: recordingLogger(lines),
  });
  await driver.stop();
  const stopped = lines.find((l) => l[3] === "driver stopped");
  t.truthy(stopped, JSON.stringify(lines));
  t.is(stopped?.[0], "debug");
  t.like(stopped?.[1] as object, { framework: "own-logger" });
});

test("logger - a pino logger is a Logger", (t) => {
  const logger: Logger = pino({ level: "silent" });
  t.is(logger.child({ a: 1 }).level, "silent");
});
