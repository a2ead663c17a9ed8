import test from "ava";
import { resolveUiConfig } from "../../../actors/ui/config.ts";
import { DEFAULT_UI_HTTP_PORT } from "../../../infra/defaults.ts";
import { AgoraError } from "../../../protocol/errors.ts";

test("ui config - defaults, AGORA_UI_* over them, flags over those", (t) => {
  t.is(resolveUiConfig({ env: {} }).httpPort, DEFAULT_UI_HTTP_PORT);
  t.is(resolveUiConfig({ env: { AGORA_UI_HTTP_PORT: "8081" } }).httpPort, 8081);
  t.is(
    resolveUiConfig({ env: { AGORA_UI_HTTP_PORT: "8081" }, argv: ["--http-port", "0"] }).httpPort,
    0,
  );
});

test("ui config - a port out of range is one line naming the flag or variable", (t) => {
  const message = (argv: string[], env: Record<string, string> = {}) =>
    t.throws(() => resolveUiConfig({ env, argv }), { instanceOf: AgoraError })?.message;
  t.is(message(["--http-port", "65536"]), "--http-port must be at most 65535, got 65536");
  t.is(message([], { AGORA_UI_HTTP_PORT: "-2" }), "AGORA_UI_HTTP_PORT must be at least 0, got -2");
});
