/**
 * Entry point of the `agora` executable (bin/agora.js): runs the command
 * line and exits with the command's exit code.
 */
import { runCli } from "./cli.ts";

const code = await runCli(process.argv.slice(2));
process.exit(code);
