/**
 * `agora simulate SCENARIO [--policy NAME]`: replays a scenario file through
 * the master's own allocation code on a virtual clock — no NATS, no
 * processes — and prints what happens as JSON lines (offers, launches,
 * declines, rescinds, returns, then a summary of the dominant shares). The
 * scenario format is documented in the README.
 */
import { readFile } from "node:fs/promises";
import type { OptionSpecs } from "../../infra/config.ts";
import { policyNames } from "../../policies/index.ts";
import { AgoraError } from "../../protocol/errors.ts";
import { parseScenario } from "../../simulate/scenario.ts";
import { simulate } from "../../simulate/simulator.ts";
import { type Command, parseCommand, usageError } from "../command.ts";

const SIMULATE_OPTIONS = {
  policy: {
    kind: "string",
    flag: "policy",
    placeholder: "NAME",
    help: `allocation policy instead of the scenario's (${policyNames().join(", ")})`,
  },
} as const satisfies OptionSpecs;

const HELP = {
  usage: "agora simulate [options] SCENARIO",
  summary:
    "Replays a JSON scenario (agents, frameworks with a behaviour, timed steps) through the\n" +
    "master's allocation code on a virtual clock and prints one JSON object a line:\n" +
    '{"t", "event": "offer"|"launch"|"decline"|"rescind"|"return"|"preempt", "framework", "role",\n' +
    '"agent", "resources"}, then {"event": "summary", ...} with the dominant shares.',
};

/** Writes to stdout and waits until it is handed over (the CLI exits right after). */
function write(text: string): Promise<void> {
  if (text === "") return Promise.resolve();
  return new Promise((resolve) => process.stdout.write(text, () => resolve()));
}

export const simulateCommand: Command = {
  name: "simulate",
  summary: "replay a scenario through the allocator on a virtual clock (JSON lines)",
  async run(argv) {
    const parsed = parseCommand(SIMULATE_OPTIONS, argv, HELP, {
      env: {},
      allowPositionals: true,
    });
    if (parsed === undefined) return 0;
    const { values, positionals } = parsed;
    if (positionals.length !== 1) {
      throw usageError("expected one scenario file: agora simulate [--policy NAME] SCENARIO");
    }
    const file = positionals[0]!;
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      throw usageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
    const out: string[] = [];
    try {
      const scenario = parseScenario(text);
      simulate(scenario, {
        policy: values.policy,
        onLine: (line) => out.push(`${JSON.stringify(line)}\n`),
      });
    } catch (err) {
      const error = AgoraError.from(err);
      throw new AgoraError(error.code, `${file}: ${error.message}`, { cause: err });
    } finally {
      await write(out.join(""));
    }
    return 0;
  },
};
