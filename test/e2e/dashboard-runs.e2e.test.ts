/**
 * Issue 14 point 3: runs in the dashboard, in real Chromium against a real stack (api, two hubs,
 * a worker, a throwaway Redis) with three real agents, whose allow-lists make the same command
 * succeed on two hosts and exit 1 on the third. An operator picks the hosts (two by their
 * checkboxes, the third through "select all matching the filter"), runs the command, and reads
 * the grid, the counts, the combined output (prefixed by host, then not), one host's own output,
 * the summary by exit code and the runs list; then starts a long run and cancels it. A viewer
 * sees runs but no control to start or cancel one.
 *
 * The tests run in order and share the people and the runs.
 */
import type { Browser } from "playwright-core";
import { apiCall, createHost, login } from "../support/clients";
import { ensureDashboardBuilt } from "../../scripts/dashboard-build";
import { startAgent, type AgentProcess } from "./dashboard-agent";
import { launchChromium } from "./dashboard-browser";
import { startFront, type Front } from "./dashboard-front";
import { combinedLines, filterFleet, pickHost, runCommands, startRun, tileStatuses } from "./dashboard-runs-steps";
import { signIn, startTeamsStack, visit, type Person, type TeamsStack } from "./dashboard-teams-steps";

let front: Front;
let stack: TeamsStack;
let browser: Browser;
let adminCookie = "";
const agents: AgentProcess[] = [];
const hosts: Record<string, string> = {}; // name → id
let operator: Person;
let viewer: Person;
let checkRun = "";
let olderRun = "";
const opal = { username: "opal", password: "opal-password-1", role: "operator" };
const vera = { username: "vera", password: "vera-password-1", role: "viewer" };

beforeAll(async () => {
  ensureDashboardBuilt();
  front = await startFront();
  stack = await startTeamsStack(front.origin);
  front.route({ apiPort: stack.api.port, hubPort: stack.hubs[0].port });
  browser = await launchChromium();
  // REST through the front: its origin is the one ALLOWED_ORIGINS names.
  adminCookie = await login(front.origin, stack.admin.username, stack.admin.password);
  for (const user of [opal, vera]) expect((await apiCall(front.origin, adminCookie, "POST", "/api/users", user)).status).toBe(201);
  for (const name of ["web-1", "web-2", "db-1"]) {
    const { host, token } = await createHost(front.origin, adminCookie, name);
    hosts[name] = host.id;
    const url = `ws://127.0.0.1:${front.port}/ws`;
    agents.push(startAgent({ url, token, hostname: `${name}.test`, allowAny: false, commands: runCommands(name, name === "db-1") }));
  }
  // Three agents start (tsx compiles each on its first run): allow a loaded machine a minute.
  await Promise.all(agents.map((agent) => agent.waitFor("registered", { timeoutMs: 60_000 })));
}, 300_000);

afterAll(async () => {
  await Promise.all(agents.map((agent) => agent.stop().catch(() => undefined)));
  await browser?.close();
  await stack?.stop();
  await front?.close();
});

test("an operator picks three hosts (two ticked, one through the filter) and runs a command on them", async () => {
  // An older run, so the runs list has one to put after ours.
  const older = await apiCall(front.origin, adminCookie, "POST", "/api/runs", { command: "check", target: { host_ids: [hosts["web-1"]] } });
  expect(older.status).toBe(202);
  olderRun = older.json<{ run: { id: string } }>().run.id;

  operator = await signIn(browser, front.origin, opal.username, opal.password);
  const { page } = operator;
  await page.locator('host-list [data-count="online"]').filter({ hasText: "3 online" }).waitFor();
  await pickHost(page, hosts["web-1"]!);
  await pickHost(page, hosts["web-2"]!);
  await page.locator('host-list [data-selected-count="2"]').waitFor();
  await filterFleet(page, "db");
  await page.locator("host-list #select-matching").filter({ hasText: "Select all 1 matching" }).click();
  await page.locator('host-list [data-selected-count="3"]').waitFor();
  await filterFleet(page, "");
  checkRun = await startRun(page, "check", 3);

  // The grid goes live to its end: two succeeded, one failed (status in words on each tile too).
  await page.locator('run-view .run-status[data-status="finished"]').waitFor();
  await page.locator('run-grid a.tile[data-status="failed"]').waitFor();
  expect(await tileStatuses(page)).toEqual({ "db-1": "failed", "web-1": "succeeded", "web-2": "succeeded" });
  await expect(page.locator('run-grid a.tile[data-host-name="db-1"] .state').textContent()).resolves.toBe("Failed · exit 1");
  await expect(page.locator('run-view .counts li[data-status="succeeded"]').getAttribute("data-count")).resolves.toBe("2");
  await expect(page.locator('run-view .counts li[data-status="failed"]').getAttribute("data-count")).resolves.toBe("1");
  await expect(page.locator("run-view [data-progress]").textContent()).resolves.toBe("3 of 3 finished");
  await expect(page.locator("run-view #run-progress").evaluate((p) => (p as unknown as { value: number }).value)).resolves.toBe(3);
});

test("the combined output has every host's lines, prefixed by host; the toggle drops the prefixes", async () => {
  const { page } = operator;
  // Six lines in all; the order between hosts is whatever order they finished in.
  await page.locator('run-view run-output[data-lines="6"]').waitFor();
  const expected = ["db-1 | db-1 broken", "db-1 | db-1 line one", "web-1 | web-1 line one", "web-1 | web-1 line two"];
  expected.push("web-2 | web-2 line one", "web-2 | web-2 line two");
  expect((await combinedLines(page)).sort()).toEqual(expected.sort());
  // Each host's own lines stay in their order.
  const lines = await combinedLines(page);
  expect(lines.indexOf("web-1 | web-1 line one")).toBeLessThan(lines.indexOf("web-1 | web-1 line two"));
  await expect(page.locator('run-output span[data-stream="stderr"]').textContent()).resolves.toBe("db-1 | db-1 broken\n");

  await page.locator("run-view #run-prefixes").uncheck();
  await page.locator("run-view run-output pre.combined").filter({ hasNotText: " | " }).waitFor();
  expect((await combinedLines(page)).sort()).toEqual(expected.map((line) => line.split(" | ")[1]).sort());
  await page.locator("run-view #run-prefixes").check();
  await page.locator("run-view run-output pre.combined").filter({ hasText: "web-2 | web-2 line two" }).waitFor();
});

test("clicking a host shows only its output; the status filter narrows the grid", async () => {
  const { page } = operator;
  await page.locator('run-grid a.tile[data-host-name="db-1"]').click();
  const panel = page.locator(`run-view .host-output[data-host-id="${hosts["db-1"]}"]`);
  await panel.locator('command-console .summary[data-status="failed"]').waitFor();
  // The output element renders its lines in its own update, after the summary: wait for its count.
  await panel.locator('command-output[data-lines="2"]').waitFor();
  // stdout and stderr are two pipes: their order between each other is not fixed.
  // Read from the terminal's buffer through the element's test hook (dashboard-browser.ts).
  const text = await panel.locator("command-output").evaluate((el) => (el as unknown as { readText(): string }).readText());
  const own = text.split("\n").filter(Boolean);
  expect(own.sort()).toEqual(["db-1 broken", "db-1 line one"]);
  await expect(page.locator('run-grid a.tile[aria-current="true"]').getAttribute("data-host-name")).resolves.toBe("db-1");

  await page.locator("run-view #run-status-filter").selectOption("succeeded");
  await page.locator('run-grid a.tile[data-host-name="db-1"]').waitFor({ state: "detached" });
  expect(await tileStatuses(page)).toEqual({ "web-1": "succeeded", "web-2": "succeeded" });
  await page.locator("run-view #run-status-filter").selectOption("all");
  await page.locator('run-grid a.tile[data-host-name="db-1"]').waitFor();
});

test("the summary groups the hosts by outcome and exit code; the runs list shows this run first", async () => {
  const { page } = operator;
  const summary = page.locator("run-view run-summary");
  await expect(summary.locator('[data-total="succeeded"]').textContent()).resolves.toBe("2 succeeded");
  await expect(summary.locator('[data-total="failed"]').textContent()).resolves.toBe("1 failed");
  await expect(summary.locator('[data-total="other"]').textContent()).resolves.toBe("0 other");
  const rows = await summary.locator("tbody tr").evaluateAll((trs) =>
    trs.map((tr) => ({
      outcome: tr.getAttribute("data-outcome"),
      exit: tr.getAttribute("data-exit-code"),
      count: tr.querySelector("[data-count]")?.getAttribute("data-count"),
      hosts: [...tr.querySelectorAll(".hosts a")].map((a) => a.textContent),
    })),
  );
  expect(rows).toEqual([
    { outcome: "succeeded", exit: "0", count: "2", hosts: ["web-1", "web-2"] },
    { outcome: "failed", exit: "1", count: "1", hosts: ["db-1"] },
  ]);

  await page.locator('app-nav a[data-nav="runs"]').click();
  await page.locator(`run-list tr[data-run-id="${olderRun}"]`).waitFor();
  const listed = await page.locator("run-list tbody tr").evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-run-id")));
  expect(listed.slice(0, 2)).toEqual([checkRun, olderRun]);
  const first = page.locator(`run-list tr[data-run-id="${checkRun}"]`);
  await expect(first.getAttribute("data-status")).resolves.toBe("finished");
  await expect(first.locator("[data-run-by]").textContent()).resolves.toBe("opal");
  await expect(first.locator("[data-counts]").textContent()).resolves.toBe("3 · 2 succeeded · 1 failed");
});

test("a viewer sees the runs, but no control to pick hosts or start a run", async () => {
  viewer = await signIn(browser, front.origin, vera.username, vera.password);
  const { page } = viewer;
  await page.locator('host-list [data-count="online"]').filter({ hasText: "3 online" }).waitFor();
  expect(await page.locator("host-list #run-on-hosts, host-list #select-matching, host-card input[data-select-host]").count()).toBe(0);
  await visit(page, "#/runs", `run-list tr[data-run-id="${checkRun}"]`);
  await visit(page, `#/runs/${checkRun}`, 'run-view .run-status[data-status="finished"]');
  await page.locator('run-grid a.tile[data-status="failed"]').waitFor();
});

test("a long run: the viewer watching it has no Cancel; the operator cancels it and both pages show every host cancelled", async () => {
  const { page } = operator;
  await visit(viewer.page, "#/runs", `run-list tr[data-run-id="${checkRun}"]`);
  await visit(page, "#/", "host-list #select-matching");
  await page.locator("host-list #select-matching").click();
  const run = await startRun(page, "hold", 3);
  expect(run).not.toBe(checkRun);
  await page.locator('run-grid a.tile[data-status="running"]').nth(2).waitFor();

  // The viewer's open runs list gets the new run on top, live (run_update), and opens it.
  const row = viewer.page.locator(`run-list tbody tr:first-child[data-run-id="${run}"]`);
  await row.waitFor();
  await row.locator("a").click();
  await viewer.page.locator('run-view .run-status[data-status="running"]').waitFor();
  await viewer.page.locator('run-grid a.tile[data-status="running"]').nth(2).waitFor();
  expect(await viewer.page.locator("run-view #cancel-run").count()).toBe(0);

  await page.locator("run-view #cancel-run").click();
  for (const p of [page, viewer.page]) {
    await p.locator('run-view .run-status[data-status="cancelled"]').waitFor();
    await p.locator('run-grid a.tile[data-status="cancelled"]').nth(2).waitFor();
    expect(await tileStatuses(p)).toEqual({ "db-1": "cancelled", "web-1": "cancelled", "web-2": "cancelled" });
    await expect(p.locator('run-summary [data-total="other"]').textContent()).resolves.toBe("3 other");
  }
  expect(await page.locator("run-view #cancel-run").count()).toBe(0);
  expect(operator.errors).toEqual([]);
  expect(viewer.errors).toEqual([]);
});

test("the runs pages fit a phone screen", async () => {
  const { page } = operator;
  await page.setViewportSize({ width: 390, height: 844 });
  for (const [route, ready] of [
    ["#/", "host-list #run-on-hosts"],
    ["#/runs", `run-list tr[data-run-id="${checkRun}"]`],
    [`#/runs/${checkRun}/hosts/${hosts["db-1"]}`, "run-view run-summary tbody tr"],
  ] as const) {
    await visit(page, route, ready);
    const size = await page
      .locator("html")
      .evaluate((html: { scrollWidth: number; ownerDocument: { defaultView: { innerWidth: number } } }) => ({
        scrollWidth: html.scrollWidth,
        innerWidth: html.ownerDocument.defaultView.innerWidth,
      }));
    expect({ route, fits: size.scrollWidth <= size.innerWidth, ...size }).toEqual({ route, fits: true, ...size });
  }
  expect(operator.errors).toEqual([]);
});
