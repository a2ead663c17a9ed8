#!/usr/bin/env node
// Entry point of the `agora` command: loads the TypeScript CLI through tsx so
// that a fresh clone runs without a build step.
import { register } from "tsx/esm/api";

register();
await import("../cli/main.ts");
