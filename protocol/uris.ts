/**
 * URIs a task's command fetches into its sandbox before it starts, as Mesos's
 * `CommandInfo.URI` (mesos.proto; docs/fetcher.md): `CommandInfo.uris`
 * (common.ts), fetched by the agent's fetcher (actors/agent/fetcher).
 */
import { type Static, Type } from "@sinclair/typebox";

/** Longest URI accepted. */
export const MAX_URI_LENGTH = 8192;
/** Longest `outputFile` accepted (a relative path inside the sandbox). */
export const MAX_OUTPUT_FILE_LENGTH = 4096;
/** Most URIs in one command. */
export const MAX_COMMAND_URIS = 256;

/** One URI to fetch into the sandbox (Mesos `CommandInfo.URI`). */
export const CommandUri = Type.Object({
  /**
   * What to fetch: an `http://` or `https://` URL, a `file://` URL, or an
   * absolute path on the agent.
   */
  value: Type.String({ minLength: 1, maxLength: MAX_URI_LENGTH }),
  /** Make the fetched file executable (mode 0755); `extract` is then ignored. Default false. */
  executable: Type.Optional(Type.Boolean()),
  /**
   * Extract a recognized archive (`.tar`, `.tar.gz`, `.tgz`, `.tar.bz2`, `.tbz2`,
   * `.tar.xz`, `.txz`, `.zip`; a bare `.gz` is decompressed) into the sandbox.
   * Default true, as Mesos.
   */
  extract: Type.Optional(Type.Boolean()),
  /** Fetch through the agent's fetcher cache (downloaded once per agent and user). Default false. */
  cache: Type.Optional(Type.Boolean()),
  /**
   * Name of the copy in the sandbox instead of the URI's last path segment; a
   * relative path, which may hold directories but never leaves the sandbox.
   */
  outputFile: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_OUTPUT_FILE_LENGTH })),
});
export type CommandUri = Static<typeof CommandUri>;

/** The URIs of one command (`CommandInfo.uris`). */
export const CommandUris = Type.Array(CommandUri, { maxItems: MAX_COMMAND_URIS });
export type CommandUris = Static<typeof CommandUris>;
