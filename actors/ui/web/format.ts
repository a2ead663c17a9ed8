/** Number, resource and time formatting shared by the pages. */
import type { ResourcesJson } from "../../../protocol/common.ts";
import type { Scalars } from "../model.ts";

export function num(n: number | undefined, digits = 1): string {
  if (n === undefined || !Number.isFinite(n)) return "-";
  if (Math.abs(n) >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (Math.abs(n) >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return Number.isInteger(n) ? String(n) : n.toFixed(digits);
}

export const pct = (share: number | undefined): string =>
  share === undefined ? "-" : `${(share * 100).toFixed(1)}%`;

/** `cpus:4 mem:1024` (ranges shown as their count of values). */
export function resources(r: ResourcesJson | Scalars | undefined): string {
  if (r === undefined) return "-";
  const parts: string[] = [];
  for (const [k, v] of Object.entries(r)) {
    if (typeof v === "number") parts.push(`${k}:${num(v)}`);
    else if (Array.isArray(v))
      parts.push(`${k}:${v.map(([a, b]) => (a === b ? `${a}` : `${a}-${b}`)).join(",")}`);
  }
  return parts.length === 0 ? "-" : parts.join(" ");
}

/** `3s`, `4m`, `2h` since `t` (ms since the epoch). */
export function ago(t: number, now: number): string {
  if (t <= 0) return "-";
  const s = Math.max(0, (now - t) / 1000);
  if (s < 60) return `${Math.floor(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

export const shortState = (state: string): string => state.replace(/^TASK_/, "");

/** `rack=r1 zone=a`. */
export function attributes(a: Record<string, string | number>): string {
  const parts = Object.entries(a).map(([k, v]) => `${k}=${v}`);
  return parts.length === 0 ? "-" : parts.join(" ");
}
