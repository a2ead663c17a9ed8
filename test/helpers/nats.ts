/**
 * The per-file nats-server of integration tests: started before the file's
 * tests, stopped after them (even when they fail). The hooks are serial: a
 * `test.serial.before` registered after the call runs once the server does,
 * and a `test.serial.after.always` registered before it (closing a
 * connection) runs while the server still does.
 */
import type { TestFn } from "ava";
import {
  type NatsServer,
  type NatsServerOptions,
  startNatsServer,
} from "../../infra/nats-server.ts";

/** Registers `before`/`after.always` hooks on `test`; returns the running server's getter. */
export function useNatsServer<C>(test: TestFn<C>, options?: NatsServerOptions): () => NatsServer {
  let server: NatsServer | undefined;
  test.serial.before(async () => {
    server = await startNatsServer(options);
  });
  test.serial.after.always(async () => {
    await server?.stop();
  });
  return () => {
    if (server === undefined) throw new Error("the test nats-server is not started");
    return server;
  };
}
