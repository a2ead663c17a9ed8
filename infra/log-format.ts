/**
 * Human log lines for terminals and for the short-lived CLI commands:
 * `12:03:04.123 WARN  master: nats disconnected server=127.0.0.1:4222`.
 * pino writes one JSON object per line into {@link lineStream}, which
 * rewrites it; anything that is not JSON passes through unchanged.
 */
import type { Writable } from "node:stream";

const LEVELS: Record<number, string> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO",
  40: "WARN",
  50: "ERROR",
  60: "FATAL",
};
const COLORS: Record<number, string> = { 40: "\x1b[33m", 50: "\x1b[31m", 60: "\x1b[35m" };
const DIM = "\x1b[2m";
const RESET = "\x1b[0m";
/** Fields every line has that the text shows elsewhere or not at all. */
const HIDDEN = new Set(["level", "time", "msg", "pid", "hostname", "actor"]);

function value(v: unknown): string {
  if (typeof v === "string") return /[\s"=]/.test(v) || v === "" ? JSON.stringify(v) : v;
  if (v instanceof Object && "message" in v && typeof v.message === "string") {
    return JSON.stringify(v.message);
  }
  return JSON.stringify(v) ?? String(v);
}

/** One JSON log record as a line of text (without the newline). */
export function formatLogLine(record: Record<string, unknown>, color: boolean): string {
  const level = typeof record.level === "number" ? record.level : 30;
  const time = typeof record.time === "number" ? new Date(record.time) : new Date();
  const clock = time.toISOString().slice(11, 23);
  const name = (LEVELS[level] ?? String(level)).padEnd(5);
  const actor = typeof record.actor === "string" ? `${record.actor}: ` : "";
  const msg = typeof record.msg === "string" ? record.msg : "";
  const fields = Object.entries(record)
    .filter(([k, v]) => !HIDDEN.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${value(v)}`)
    .join(" ");
  const text = `${actor}${msg}${fields ? ` ${fields}` : ""}`;
  if (!color) return `${clock} ${name} ${text}`;
  return `${DIM}${clock}${RESET} ${COLORS[level] ?? ""}${name}${RESET} ${text}`;
}

/** A pino destination writing {@link formatLogLine} lines to `out` synchronously. */
export function lineStream(
  out: Writable | NodeJS.WriteStream,
  color: boolean,
): { write(chunk: string): void } {
  return {
    write(chunk: string) {
      for (const line of chunk.split("\n")) {
        if (line === "") continue;
        let text = line;
        try {
          text = formatLogLine(JSON.parse(line) as Record<string, unknown>, color);
        } catch {
          // not a JSON record: as it is
        }
        out.write(`${text}\n`);
      }
    },
  };
}
