/**
 * The options of the web UI actor (`agora ui`). Resolved in one place
 * (defaults → `AGORA_*` → flags → overrides) and validated against the
 * table's TypeBox schema.
 */
import {
  COMMON_OPTIONS,
  LOG_OPTIONS,
  type OptionSpecs,
  type Resolved,
  type ResolveInput,
} from "../../infra/config.ts";
import { resolveConfig } from "../../infra/config-schema.ts";
import { DEFAULT_UI_HTTP_HOST, DEFAULT_UI_HTTP_PORT } from "../../infra/defaults.ts";

/** The option table of `agora ui`. */
export const UI_OPTIONS = {
  ...COMMON_OPTIONS,
  ...LOG_OPTIONS,
  httpPort: {
    kind: "integer",
    flag: "http-port",
    env: "AGORA_UI_HTTP_PORT",
    default: DEFAULT_UI_HTTP_PORT,
    min: 0,
    max: 65535,
    placeholder: "PORT",
    help: "port of the web UI; 0 = a free one",
  },
  httpHost: {
    kind: "string",
    flag: "http-host",
    env: "AGORA_UI_HTTP_HOST",
    default: DEFAULT_UI_HTTP_HOST,
    placeholder: "HOST",
    help: "address the web UI listens on (0.0.0.0 for every interface)",
  },
} as const satisfies OptionSpecs;

/** The UI's resolved configuration. */
export type UiConfig = Resolved<typeof UI_OPTIONS>;

/**
 * Resolves the UI's configuration.
 * @throws AgoraError INVALID_CONFIG with a one-line message
 */
export function resolveUiConfig(input: ResolveInput<typeof UI_OPTIONS> = {}): UiConfig {
  return resolveConfig(UI_OPTIONS, input).values;
}
