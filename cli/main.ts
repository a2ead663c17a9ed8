/**
 * Entry point of the `agora` executable (bin/agora.js): runs the command
 * line and exits with the command's exit code, once stdout and stderr have
 * taken everything written (a pipe takes a large `agora state` in several
 * turns; exiting earlier would cut it).
 */
import { runCli } from "./cli.ts";

const code = await runCli(process.argv.slice(2));
const drained = (stream: NodeJS.WriteStream) =>
  new Promise<void>((resolve) => {
    stream.write("", () => resolve());
  });
await Promise.all([drained(process.stdout), drained(process.stderr)]);
process.exit(code);
