import test from "ava";
import { startHttpServer } from "../../../infra/http.ts";

test("http - exact routes, prefix routes, 404, 405 and a failing handler", async (t) => {
  const server = await startHttpServer({
    port: 0,
    routes: {
      "/health": () => ({ body: "ok" }),
      "/state": () => ({ body: { leader: true } }),
      "/ui/*": (_req, _res, url) => ({ contentType: "text/html", body: `page ${url.pathname}` }),
      "/boom": () => {
        throw new Error("secret detail");
      },
    },
  });
  t.teardown(() => server.close());
  const health = await fetch(`${server.url}/health`);
  t.is(health.status, 200);
  t.is(await health.text(), "ok");
  t.deepEqual(await (await fetch(`${server.url}/state`)).json(), { leader: true });
  const page = await fetch(`${server.url}/ui/agents`);
  t.is(page.headers.get("content-type"), "text/html");
  t.is(await page.text(), "page /ui/agents");
  t.is((await fetch(`${server.url}/nope`)).status, 404);
  t.is((await fetch(`${server.url}/health`, { method: "POST" })).status, 405);
  const boom = await fetch(`${server.url}/boom`);
  t.is(boom.status, 500);
  t.false((await boom.text()).includes("secret"));
});
