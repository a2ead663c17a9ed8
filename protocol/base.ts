/**
 * The ground shapes the other schemas build on: identifiers, free text and
 * commands. This file imports no other protocol file but uris.ts (which
 * imports none), so that common.ts and health.ts (a COMMAND health check
 * holds a CommandInfo) can both use it; common.ts re-exports everything here.
 */
import { type Static, Type } from "@sinclair/typebox";
import { CommandUris } from "./uris.ts";

/** Longest string accepted in a free-text field (messages, names). */
const MAX_TEXT = 64 * 1024;
/** Longest identifier (a subject token). */
export const MAX_ID = 256;

/** An identifier that is also a valid subject token. */
export const Id = Type.String({
  minLength: 1,
  maxLength: MAX_ID,
  pattern: "^[^\\s.*>\\u0000-\\u001f\\u007f]+$",
});
/** Free text. */
export const Text = Type.String({ maxLength: MAX_TEXT });

/** Environment variables of a command. */
const Environment = Type.Record(Type.String({ maxLength: MAX_ID }), Text);

/** A command to run, as Mesos's `CommandInfo`. */
export const CommandInfo = Type.Object({
  /** The command line (run by `/bin/sh -c` when `shell` is true) or the program. */
  value: Type.String({ minLength: 1, maxLength: MAX_TEXT }),
  /** Run through `/bin/sh -c` (default true). When false, `value` is the program. */
  shell: Type.Optional(Type.Boolean()),
  /** Arguments when `shell` is false. */
  arguments: Type.Optional(Type.Array(Text, { maxItems: 1024 })),
  /** Extra environment variables. */
  environment: Type.Optional(Environment),
  /** Files fetched into the sandbox before the command starts, in order (protocol/uris.ts). */
  uris: Type.Optional(CommandUris),
  /**
   * The user the command runs as (Mesos `CommandInfo.user`); default the framework's
   * `FrameworkInfo.user`, else the agent's own user. An agent running as root with
   * `--switch-user` (default) starts the process as this user and gives it the sandbox.
   */
  user: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
});
export type CommandInfo = Static<typeof CommandInfo>;
