/** What the simulate tests share: running an example scenario, and an expected event line. */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ResourcesJson } from "../../../protocol/common.ts";
import { parseScenario } from "../../../simulate/scenario.ts";
import { type SimLine, simulate } from "../../../simulate/simulator.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

/** Simulates `examples/scenarios/<name>.json`, after `edit` changed its JSON. */
export function runExample(
  name: string,
  edit: (json: Record<string, unknown>) => void = () => {},
): SimLine[] {
  const json = JSON.parse(
    readFileSync(path.join(root, "examples/scenarios", `${name}.json`), "utf8"),
  ) as Record<string, unknown>;
  edit(json);
  return simulate(parseScenario(JSON.stringify(json)));
}

/** An expected event line (`gang` only on the lines of a gang's offers). */
export function ev(
  t: number,
  event: string,
  framework: string,
  role: string,
  agent: string,
  resources: ResourcesJson,
  gang?: string,
) {
  return { t, event, framework, role, agent, resources, ...(gang === undefined ? {} : { gang }) };
}
