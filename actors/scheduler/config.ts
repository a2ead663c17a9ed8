/**
 * What a scheduler driver reads from its process's environment, in one place:
 * the NATS URL and the subject prefix (`AGORA_NATS_URL`, `AGORA_SUBJECT_PREFIX`,
 * as every agora command takes them), through the staged resolver and
 * validated against the table's TypeBox schema. Options given in code
 * ({@link SchedulerDriverOptions}) win over it.
 */
import { COMMON_OPTIONS, type OptionSpecs, type Resolved } from "../../infra/config.ts";
import { resolveConfig } from "../../infra/config-schema.ts";

/** The scheduler driver's environment options. */
export const SCHEDULER_OPTIONS = {
  nats: COMMON_OPTIONS.nats,
  prefix: COMMON_OPTIONS.prefix,
} as const satisfies OptionSpecs;

/** The scheduler driver's resolved environment options. */
export type SchedulerConfig = Resolved<typeof SCHEDULER_OPTIONS>;

/**
 * Reads the driver's options from the environment.
 * @throws AgoraError INVALID_CONFIG with a one-line message
 */
export function resolveSchedulerConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): SchedulerConfig {
  return resolveConfig(SCHEDULER_OPTIONS, { env, argv: [] }).values;
}
