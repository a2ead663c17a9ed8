import test from "ava";
import { POLICY_HOST_OPTIONS, resolvePolicyHostConfig } from "../../../actors/policy/config.ts";
import { formatHelp } from "../../../infra/config.ts";
import { AgoraError } from "../../../protocol/errors.ts";

const NAMED = ["--name", "fair", "--module", "./fair.ts"];

test("policy host config - defaults, AGORA_* over them, flags over those", (t) => {
  const defaults = resolvePolicyHostConfig({ env: {}, argv: NAMED });
  t.like(defaults, { name: "fair", module: "./fair.ts", prefix: "agora", queue: undefined });
  const fromEnv = resolvePolicyHostConfig({
    env: { AGORA_POLICY_NAME: "env-name", AGORA_POLICY_MODULE: "./m.ts", AGORA_HTTP_PORT: "0" },
  });
  t.like(fromEnv, { name: "env-name", module: "./m.ts", httpPort: 0 });
  t.is(
    resolvePolicyHostConfig({ env: { AGORA_POLICY_NAME: "env-name" }, argv: NAMED }).name,
    "fair",
  );
});

test("policy host config - bad values are one line naming the flag", (t) => {
  const message = (argv: string[], env: Record<string, string> = {}) =>
    t.throws(() => resolvePolicyHostConfig({ env, argv }), { instanceOf: AgoraError })?.message;
  t.is(message(["--module", "./m.ts"]), "serve: --name NAME is required");
  t.is(message(["--name", "fair"]), "serve: --module PATH is required");
  t.is(message(["--name", "a.b", "--module", "m"]), '--name: "a.b" is not a valid policy name');
  t.is(message([...NAMED, "--queue", " "]), "--queue must not be empty");
  t.is(message(NAMED, { AGORA_HTTP_PORT: "-1" }), "AGORA_HTTP_PORT must be at least 0, got -1");
});

test("policy host config - --help lists the environment variables", (t) => {
  const help = formatHelp("agora policy serve", "", POLICY_HOST_OPTIONS);
  for (const name of [
    "AGORA_POLICY_NAME",
    "AGORA_POLICY_MODULE",
    "AGORA_NATS_URL",
    "AGORA_LOG_LEVEL",
  ]) {
    t.true(help.includes(name), name);
  }
});
