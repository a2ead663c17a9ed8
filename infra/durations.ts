/**
 * Parsing of durations and sizes given on the command line, in the
 * environment or in scenario files: `500ms`, `5s`, `5secs`, `2m`, `1h`, `1d`;
 * a bare number is seconds (as Mesos's flags).
 */
import { AgoraError, ErrorCode } from "../protocol/errors.ts";

const UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  ms: 1,
  s: 1000,
  sec: 1000,
  secs: 1000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hrs: 3_600_000,
  d: 86_400_000,
  days: 86_400_000,
  w: 604_800_000,
};

/**
 * Parses a duration to milliseconds.
 * @throws AgoraError INVALID_CONFIG naming the value
 */
export function parseDuration(value: string | number, what = "duration"): number {
  if (typeof value === "number") {
    if (Number.isFinite(value) && value >= 0) return value * 1000;
  } else {
    const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
    if (match) {
      const unit = (match[2] ?? "").toLowerCase() || "s";
      const factor = UNITS[unit];
      if (factor !== undefined) return Number(match[1]) * factor;
    }
  }
  throw new AgoraError(
    ErrorCode.InvalidConfig,
    `invalid ${what} ${JSON.stringify(value)}: expected a number with a unit such as 500ms, 5s, 2m, 1h`,
  );
}

/** Formats milliseconds compactly (`1s`, `250ms`, `2m`). */
export function formatDuration(ms: number): string {
  if (ms % 60_000 === 0 && ms >= 60_000) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

/**
 * Parses a size to bytes as Mesos's `Bytes` does: `1073741824`, `512MB`, `1GiB`, `1g` (a bare
 * number is bytes; `KB`/`MB`/`GB`/`TB`, `KiB`/`MiB`/`GiB`/`TiB` and `k`/`m`/`g`/`t` are all powers
 * of 1024, so `--fetcher-cache-size 2GB` means what it means to a Mesos agent).
 * @throws AgoraError INVALID_CONFIG naming the value
 */
export function parseByteSize(value: string | number, what = "size"): number {
  if (typeof value === "number") {
    if (Number.isInteger(value) && value >= 0) return value;
  } else {
    const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
    if (match) {
      const factor = SIZE_UNITS[(match[2] ?? "").toLowerCase() || "b"];
      if (factor !== undefined) return Math.round(Number(match[1]) * factor);
    }
  }
  throw new AgoraError(
    ErrorCode.InvalidConfig,
    `invalid ${what} ${JSON.stringify(value)}: expected a number of bytes with an optional unit such as 512MB, 1GiB`,
  );
}
