/**
 * The URIs of `agora run` (as mesos-execute's `--uri`): `--uri URI` fetches a
 * file into the task's sandbox before the command runs, extracting it when it
 * is an archive; `--uri-executable URI` fetches one made executable;
 * `--uri-cache` fetches every one of them through the agent's fetcher cache.
 * Both flags repeat; the `--uri` ones are fetched first, in the order given.
 */
import { outputName, parseUri } from "../../actors/agent/fetcher/uri.ts";
import type { OptionSpecs, Resolved } from "../../infra/config.ts";
import { type CommandUri, MAX_COMMAND_URIS, MAX_URI_LENGTH } from "../../protocol/uris.ts";
import { usageError } from "../command.ts";

/** The options of `agora run` that name URIs. */
export const RUN_URI_OPTIONS = {
  uri: {
    kind: "strings",
    flag: "uri",
    placeholder: "URI",
    help: "fetch an http(s)://, file:// or absolute-path URI into the sandbox first; archives are extracted (repeatable)",
  },
  uriExecutable: {
    kind: "strings",
    flag: "uri-executable",
    placeholder: "URI",
    help: "fetch a URI into the sandbox and make it executable (repeatable)",
  },
  uriCache: {
    kind: "boolean",
    flag: "uri-cache",
    default: false,
    help: "fetch the URIs through the agent's fetcher cache",
  },
} as const satisfies OptionSpecs;

/**
 * The `CommandInfo.uris` of the flags, or undefined when none is given.
 * @throws AgoraError INVALID_CONFIG (usage) naming the bad URI
 */
export function runUris(values: Resolved<typeof RUN_URI_OPTIONS>): CommandUri[] | undefined {
  const given = [
    ...(values.uri ?? []).map((value) => ({ flag: "--uri", value, executable: false })),
    ...(values.uriExecutable ?? []).map((value) => ({
      flag: "--uri-executable",
      value,
      executable: true,
    })),
  ];
  if (given.length === 0) {
    if (values.uriCache) throw usageError("--uri-cache needs --uri or --uri-executable");
    return undefined;
  }
  if (given.length > MAX_COMMAND_URIS) {
    throw usageError(`at most ${MAX_COMMAND_URIS} URIs (--uri, --uri-executable) per task`);
  }
  return given.map(({ flag, value, executable }) => {
    if (value.length > MAX_URI_LENGTH) {
      throw usageError(`${flag}: a URI is at most ${MAX_URI_LENGTH} characters`);
    }
    try {
      outputName(parseUri(value), undefined);
    } catch (err) {
      throw usageError(`${flag}: ${err instanceof Error ? err.message : String(err)}`);
    }
    return {
      value,
      ...(executable ? { executable: true } : {}),
      ...(values.uriCache ? { cache: true } : {}),
    };
  });
}
