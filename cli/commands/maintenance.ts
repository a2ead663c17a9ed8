/**
 * `agora maintenance [show]`, `agora maintenance add --machines A,B --start S
 * [--duration D]`, `agora maintenance clear`: the maintenance schedule of the
 * running master (Mesos's `UPDATE_MAINTENANCE_SCHEDULE`). Machines are agent
 * ids or hostnames; `--start` is a duration from now (`10m`) or an ISO time.
 * The frameworks on those agents get inverse offers at once; the agents are
 * drained when their window starts and reactivated when it ends.
 */
import type { OptionSpecs } from "../../infra/config.ts";
import { parseDuration } from "../../infra/durations.ts";
import type { MaintenanceWindow } from "../../protocol/maintenance.ts";
import { isValidId } from "../../protocol/subjects.ts";
import { type Command, parseCommand, usageError } from "../command.ts";
import { OPERATOR_OPTIONS, type OperatorTarget, operatorCall } from "./operator-call.ts";

const MAINTENANCE_OPTIONS = {
  ...OPERATOR_OPTIONS,
  machines: {
    kind: "string",
    flag: "machines",
    placeholder: "IDS",
    help: "comma-separated agent ids or hostnames of the window (add)",
  },
  start: {
    kind: "string",
    flag: "start",
    placeholder: "WHEN",
    help: "when the window starts: a duration from now (10m) or an ISO time (add)",
  },
  duration: {
    kind: "duration",
    flag: "duration",
    placeholder: "DURATION",
    min: 0,
    help: "how long the window lasts (add; default: until the schedule changes)",
  },
} as const satisfies OptionSpecs;

const HELP = {
  usage: "agora maintenance [show|add|clear] [options]",
  summary:
    "Shows or changes the maintenance schedule of the running master. `add --machines h1,h2\n" +
    "--start 10m --duration 1h` adds a window: the frameworks on those agents get inverse offers\n" +
    "now, the agents are drained when it starts and reactivated when it ends. `clear` removes\n" +
    "every window.",
};

/** `--start`: a duration from now or an ISO time, in ms since the epoch. */
export function parseStart(text: string, now: number): number {
  if (/^\d{4}-\d\d-\d\d/.test(text)) {
    const at = Date.parse(text);
    if (Number.isNaN(at)) throw usageError(`--start: ${JSON.stringify(text)} is not an ISO time`);
    return at;
  }
  try {
    return now + parseDuration(text, "--start");
  } catch (err) {
    throw usageError(err instanceof Error ? err.message : String(err));
  }
}

function machinesOf(text: string | undefined): MaintenanceWindow["machines"] {
  if (text === undefined) throw usageError("add needs --machines (agent ids or hostnames)");
  const names = text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  if (names.length === 0) throw usageError("--machines names no agent");
  return names.map((name) => {
    if (name.length > 255) throw usageError(`--machines: ${name.slice(0, 40)}… is too long`);
    // the master matches a machine by agent id or by hostname
    return isValidId(name) ? { agentId: name, hostname: name } : { hostname: name };
  });
}

async function schedule(target: OperatorTarget): Promise<MaintenanceWindow[]> {
  const reply = await operatorCall(
    target,
    "agora-maintenance",
    { type: "operator.getMaintenanceSchedule" },
    ["operator.maintenanceSchedule"],
  );
  return reply.windows;
}

async function replace(target: OperatorTarget, windows: MaintenanceWindow[]): Promise<void> {
  await operatorCall(
    target,
    "agora-maintenance",
    { type: "operator.updateMaintenanceSchedule", windows },
    ["ok"],
  );
}

export const maintenanceCommand: Command = {
  name: "maintenance",
  summary: "show or change the maintenance schedule (windows when agents are unavailable)",
  async run(argv) {
    const parsed = parseCommand(MAINTENANCE_OPTIONS, argv, HELP, { allowPositionals: true });
    if (parsed === undefined) return 0;
    const { values, positionals } = parsed;
    if (positionals.length > 1) throw usageError("expected one of show, add, clear");
    const action = positionals[0] ?? "show";
    switch (action) {
      case "show":
        process.stdout.write(`${JSON.stringify({ windows: await schedule(values) }, null, 2)}\n`);
        return 0;
      case "add": {
        if (values.start === undefined) throw usageError("add needs --start (e.g. 10m)");
        const window: MaintenanceWindow = {
          machines: machinesOf(values.machines),
          unavailability: {
            start: parseStart(values.start, Date.now()),
            ...(values.duration === undefined ? {} : { durationMs: values.duration }),
          },
        };
        const windows = [...(await schedule(values)), window];
        await replace(values, windows);
        process.stdout.write(
          `maintenance window added from ${new Date(window.unavailability.start).toISOString()}` +
            `${values.duration === undefined ? "" : ` for ${values.duration / 1000}s`}` +
            ` (${windows.length} in the schedule)\n`,
        );
        return 0;
      }
      case "clear":
        await replace(values, []);
        process.stdout.write("maintenance schedule cleared\n");
        return 0;
      default:
        throw usageError(`unknown action ${JSON.stringify(action)} (expected show, add or clear)`);
    }
  },
};
