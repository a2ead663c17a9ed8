/**
 * The web UI in a real browser: headless Chromium (Debian's `chromium`,
 * `AGORA_CHROMIUM` to point elsewhere) driven by playwright-core against a
 * real nats-server, master, agents and the `agora ui` actor. The page is
 * opened once and never reloaded: what it shows must follow the cluster.
 */
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import test from "ava";
import { type Browser, chromium, type Page } from "playwright-core";
import { createAgent, resolveAgentConfig } from "../../../actors/agent/index.ts";
import { commandTask } from "../../../actors/scheduler/offers.ts";
import { isEvent } from "../../../actors/scheduler/recorder.ts";
import { connect } from "../../../infra/connect.ts";
import { silentLogger } from "../../../infra/logger.ts";
import { Subjects } from "../../../protocol/subjects.ts";
import { useNatsServer } from "../../helpers/nats.ts";
import { startCluster, startFramework, tempDir, WAIT_MS } from "../e2e/helpers.ts";

const CHROMIUM = process.env.AGORA_CHROMIUM ?? "/usr/bin/chromium";
const OUTPUT = fileURLToPath(new URL("../../../test-output/ui/", import.meta.url));
/** Set AGORA_UI_SCREENSHOTS=docs/ui to refresh the README's screenshots. */
const DOCS = process.env.AGORA_UI_SCREENSHOTS;

const nats = useNatsServer(test);
const browserTest = existsSync(CHROMIUM) ? test.serial : test.serial.skip;
if (!existsSync(CHROMIUM)) {
  test.serial("ui - browser tests need Chromium", (t) => {
    t.log(`no Chromium at ${CHROMIUM} (set AGORA_CHROMIUM): browser tests skipped`);
    t.pass();
  });
}

/** Waits until the page's text at `selector` satisfies `ok`. */
async function waitText(
  page: Page,
  selector: string,
  ok: (text: string) => boolean,
  what: string,
): Promise<string> {
  const deadline = Date.now() + WAIT_MS;
  let last = "";
  for (;;) {
    last = (await page.locator(selector).first().textContent({ timeout: WAIT_MS })) ?? "";
    if (ok(last)) return last;
    if (Date.now() > deadline)
      throw new Error(`waiting for ${what}: last saw ${JSON.stringify(last)}`);
    await page.waitForTimeout(50);
  }
}

async function shoot(page: Page, name: string): Promise<void> {
  await mkdir(OUTPUT, { recursive: true });
  await page.screenshot({ path: path.join(OUTPUT, `${name}.png`) });
  if (DOCS !== undefined) {
    await mkdir(DOCS, { recursive: true });
    await page.screenshot({ path: path.join(DOCS, `${name}.png`) });
  }
}

browserTest(
  "ui - the page follows the cluster live: agents, a task RUNNING then FINISHED, a role's share",
  async (t) => {
    const subjects = new Subjects("uitest");
    const url = nats().url;
    const cluster = await startCluster({
      url,
      subjects,
      agents: [{ hostname: "agent-1", resources: "cpus:4;mem:4096" }],
      uiPort: 0,
    });
    t.teardown(() => cluster.stop());
    const scratch = await tempDir("agora-ui-");
    t.teardown(() => scratch.remove());

    const browser: Browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });
    t.teardown(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(String(err)));
    await page.goto(cluster.uiUrl!);
    await waitText(page, "[data-testid=agent-count]", (s) => s === "1", "one agent");
    await waitText(page, "[data-testid=connection]", (s) => s === "live", "the stream");

    // a second agent joins: the count moves without a reload
    const agentNc = await connect({ servers: url, name: "agent-2", logger: silentLogger() });
    const agent2 = createAgent({
      nc: agentNc,
      logger: silentLogger(),
      subjects,
      natsUrl: url,
      config: resolveAgentConfig({
        argv: [],
        env: {},
        overrides: {
          nats: url,
          prefix: subjects.prefix,
          hostname: "agent-2",
          workDir: path.join(scratch.dir, "agent-2"),
          resources: "cpus:4;mem:4096",
        },
      }),
    });
    t.teardown(async () => {
      await agent2.shutdown("test over").catch(() => {});
      await agent2.stop();
      await agentNc.close();
    });
    await agent2.start();
    await waitText(page, "[data-testid=agent-count]", (s) => s === "2", "two agents");

    // a framework of role "web" runs a task that waits for a file
    const fw = await startFramework({
      servers: url,
      subjects,
      framework: { name: "ui-test", roles: ["web"] },
    });
    t.teardown(() => fw.driver.teardown().catch(() => fw.driver.stop()));
    const { offers } = await fw.events.waitFor(isEvent("offers"), { timeoutMs: WAIT_MS });
    const offer = offers[0]!;
    const go = path.join(scratch.dir, "go");
    const info = commandTask({
      name: "waiter",
      agentId: offer.agentId,
      resources: { cpus: 2, mem: 256 },
      command: `while [ ! -e '${go}' ]; do sleep 0.05; done`,
    });
    await page.click("a[href='#/tasks']");
    await fw.driver.accept([offer.offerId], [info]);
    const state = `[data-task-state='${info.taskId}']`;
    await waitText(page, state, (s) => s === "RUNNING", "the task RUNNING");
    await shoot(page, "tasks");

    // its role holds half an agent's cpus of two agents: a quarter, shown on the roles page
    await page.click("a[href='#/roles']");
    const share = await waitText(
      page,
      "[data-role-share='web']",
      (s) => Number.parseFloat(s) >= 25,
      "the role's share",
    );
    t.log(`role web: ${share}`);
    await shoot(page, "roles");
    // the cycle that gave the share also reported its decision time, shown on the overview
    await page.click("a[href='#/overview']");
    const cycle = await waitText(
      page,
      "[data-testid=allocation-cycle]",
      (s) => / ms, \d+ offers/.test(s),
      "the allocation cycle time",
    );
    t.log(cycle.trim());

    await page.click("a[href='#/tasks']");
    await writeFile(go, "");
    await waitText(page, state, (s) => s === "FINISHED", "the task FINISHED");

    for (const name of ["overview", "agents", "frameworks", "offers", "events"]) {
      await page.click(`a[href='#/${name}']`);
      await page.locator(`[data-testid=page-${name}]`).waitFor({ timeout: WAIT_MS });
      await shoot(page, name);
    }
    // link from the task list to its agent
    await page.click("a[href='#/tasks']");
    await page.click(`[data-key$='/${info.taskId}'] a[href^='#/agents/']`);
    await waitText(page, "main h2", (s) => s.startsWith("Agent "), "the agent page");
    const stats = await page.evaluate(
      () => (globalThis as unknown as { agoraUi: { snapshots: number } }).agoraUi,
    );
    t.is(stats.snapshots, 1, "the page never took the whole state again");
    t.deepEqual(errors, []);
  },
);
