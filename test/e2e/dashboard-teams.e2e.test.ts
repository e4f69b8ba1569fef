/**
 * Issue 12 point 6: teams, roles, API tokens and the audit log in the dashboard, in real
 * Chromium against a real stack (api, two hubs, a worker, a throwaway Redis) and two real
 * agents, one host in each of two teams. People are separate browser contexts (own cookies):
 * the admin sets things up through the pages; an operator limited to one team sees only that
 * team's host and runs a command there; a viewer of that team sees no control to run or
 * cancel. The front (dashboard-front.ts) puts the admin's socket on hub A and everyone else's
 * on hub B, so what the admin does reaches the others across nodes.
 *
 * The tests run in order and share the people.
 */
import type { Browser } from "playwright-core";
import { request } from "../support/clients";
import type { ServiceProcess } from "../support/service";
import { ensureDashboardBuilt } from "../../scripts/dashboard-build";
import { startAgent, type AgentProcess } from "./dashboard-agent";
import { consoleText, launchChromium } from "./dashboard-browser";
import { startFront, type Front } from "./dashboard-front";
import {
  UI_MS,
  startTeamsStack,
  type TeamsStack,
  addHost,
  addTeam,
  addUser,
  cardIds,
  fillLogin,
  runCommand,
  setTeams,
  signIn,
  visit,
  type Person,
} from "./dashboard-teams-steps";

let front: Front;
let stack: TeamsStack;
let hubA: ServiceProcess;
let hubB: ServiceProcess;
let browser: Browser;
const agents: AgentProcess[] = [];
let admin: Person;
let operator: Person;
let viewer: Person;
let staging = "";
let prodHost = "";
let stageHost = "";
let dispatched = "";
const olive = { username: "olive", password: "olive-password-1", role: "operator", teams: [] as string[] };
const vic = { username: "vic", password: "vic-password-1", role: "viewer", teams: [] as string[] };

beforeAll(async () => {
  ensureDashboardBuilt();
  front = await startFront();
  stack = await startTeamsStack(front.origin);
  [hubA, hubB] = stack.hubs;
  front.route({ apiPort: stack.api.port, hubPort: hubA.port });
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  await Promise.all(agents.map((agent) => agent.stop().catch(() => undefined)));
  await browser?.close();
  await stack?.stop();
  await front?.close();
});

const wsUrl = () => `ws://127.0.0.1:${front.port}/ws`;

test("the admin sees its name and role, adds a team and a host in each team; both agents connect", async () => {
  admin = await signIn(browser, front.origin, stack.admin.username, stack.admin.password);
  const { page } = admin;
  await expect(page.locator("[data-user]").textContent()).resolves.toBe(stack.admin.username);
  await expect(page.locator('[data-role="admin"]').textContent()).resolves.toBe("Admin");
  staging = await addTeam(page, "staging");
  olive.teams = vic.teams = [staging];

  const prod = await addHost(page, "prod-1", "default");
  const stage = await addHost(page, "stage-1", staging);
  [prodHost, stageHost] = [prod.hostId, stage.hostId];
  agents.push(startAgent({ url: wsUrl(), token: prod.token, hostname: "prod-1.test" }));
  agents.push(startAgent({ url: wsUrl(), token: stage.token, hostname: "stage-1.test" }));
  // Two agents start (tsx compiles each on its first run): allow a loaded CI machine a minute.
  await page.locator('host-list [data-count="online"]').filter({ hasText: "2 online" }).waitFor({ timeout: 60_000 });
  await expect(page.locator(`host-card[data-host-id="${stageHost}"] [data-team]`).textContent()).resolves.toContain("staging");
  await expect(page.locator(`host-card[data-host-id="${prodHost}"] [data-team]`).textContent()).resolves.toMatch(/default/i);
  // The host's page names its team, and the admin may move it (the picker is there).
  await visit(page, `#/hosts/${stageHost}`, `host-view dd[data-team="${staging}"]`);
  await expect(page.locator("host-view #host-team").inputValue()).resolves.toBe(staging);
});

test("the admin adds an operator and a viewer, both limited to staging", async () => {
  await addUser(admin.page, olive, ["default", staging]);
  await addUser(admin.page, vic, ["default", staging]);
  await expect(admin.page.locator('users-page tr[data-username="olive"] [data-teams]').textContent()).resolves.toBe("staging");
});

test("the operator, in another browser on the other hub, sees only staging's host and runs a command there", async () => {
  front.switchHub(hubB.port);
  // First a command on the prod host, so the operator's page has events of it to (not) get.
  const prodRun = await request(`${stack.api.url}/api/hosts/${prodHost}/commands`, {
    method: "POST",
    headers: { Cookie: (await admin.context.cookies()).map((c) => `${c.name}=${c.value}`).join("; "), Origin: front.origin },
    body: { command: "echo", args: ["prod-secret"] },
  });
  expect(prodRun.status).toBe(202);

  operator = await signIn(browser, front.origin, olive.username, olive.password);
  const { page } = operator;
  await expect(page.locator("[data-user]").textContent()).resolves.toBe("olive");
  await expect(page.locator('[data-role="operator"]').textContent()).resolves.toBe("Operator");
  await page.locator(`host-card[data-host-id="${stageHost}"]`).waitFor();
  expect(await cardIds(page)).toEqual([stageHost]);
  expect(await page.locator("#add-host").count()).toBe(0);
  expect(await page.locator("app-nav a").evaluateAll((links) => links.map((a) => a.getAttribute("data-nav")))).toEqual([
    "fleet",
    "runs",
    "tokens",
    "account",
  ]);

  await visit(page, `#/hosts/${stageHost}`, "host-view #command-input");
  expect(await page.locator("host-view #rotate-token, host-view #remove-host, host-view #host-team").count()).toBe(0);
  dispatched = await runCommand(page, "echo hello-from-olive");
  await page.locator(`command-console .summary[data-command-id="${dispatched}"][data-status="succeeded"]`).waitFor();
  // The output element renders its lines in its own update, after the summary: wait for its line count.
  await page.locator('command-output[data-lines="1"]').waitFor();
  await expect(consoleText(page)).resolves.toBe("hello-from-olive\n");
  // Barrier: the prod command was logged before this one, and frames come in log order; so
  // any frame about the prod host would have arrived by now. None did.
  expect(operator.frames.filter((f) => f.includes(prodHost) || f.includes("prod-secret"))).toEqual([]);
  expect(operator.frames.some((f) => f.includes(dispatched))).toBe(true);
  // A prod host's page, opened by its address, does not exist for the operator.
  await visit(page, `#/hosts/${prodHost}`, "host-view p.error");
});

test("a viewer of staging sees the host and its running command, with no control to run or cancel it; the operator cancels it", async () => {
  await visit(operator.page, `#/hosts/${stageHost}`, "host-view #command-input");
  const long = await runCommand(operator.page, "sleep 30");
  await operator.page.locator(`command-console .summary[data-command-id="${long}"][data-status="running"]`).waitFor();

  viewer = await signIn(browser, front.origin, vic.username, vic.password);
  const { page } = viewer;
  await expect(page.locator('[data-role="viewer"]').textContent()).resolves.toBe("Viewer");
  await page.locator(`host-card[data-host-id="${stageHost}"]`).waitFor();
  expect(await cardIds(page)).toEqual([stageHost]);
  await visit(page, `#/hosts/${stageHost}/commands/${long}`, `command-console .summary[data-command-id="${long}"][data-status="running"]`);
  await page.locator("host-view [data-read-only]").waitFor();
  expect(await page.locator("host-view #command-input, host-view #run-command, command-console #cancel-command").count()).toBe(0);

  await operator.page.locator("command-console #cancel-command").click();
  // The viewer's page follows the command live to its end.
  await page.locator(`command-console .summary[data-command-id="${long}"][data-status="cancelled"]`).waitFor();
});

test("the audit page lists who did what, newest first, filters by actor and action, and shows new entries live", async () => {
  const { page } = admin;
  await visit(page, "#/audit", "audit-page tr[data-entry-id]");
  await page.locator("audit-page #audit-actor").fill("olive");
  await page.locator("audit-page #audit-action").selectOption("command.");
  const rows = page.locator("audit-page tbody tr");
  await page.locator('audit-page tr[data-action="command.cancelled"][data-actor="olive"]').waitFor();
  const actions = async () => rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-action")));
  expect(await actions()).toEqual(["command.cancelled", "command.dispatched", "command.dispatched"]);
  // Live: another dispatch appears on top without a reload.
  const before = await rows.count();
  await runCommand(operator.page, "echo again");
  await page.locator("audit-page tbody tr").nth(before).waitFor({ timeout: UI_MS });
  expect((await actions())[0]).toBe("command.dispatched");
  await page.locator("audit-page #audit-action").selectOption("session.login");
  await page.locator("audit-page #audit-actor").fill("");
  const actors = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-actor")));
  expect(actors.slice(0, 3)).toEqual(["vic", "olive", stack.admin.username]);
});

test("API tokens: the operator creates one (at most its own role), sees it once, it works on REST within its team; revoked, it stops", async () => {
  const { page } = operator;
  await visit(page, "#/tokens", "tokens-page #token-name");
  expect(
    await page.locator("tokens-page #token-role option").evaluateAll((options) => options.map((o) => o.getAttribute("value"))),
  ).toEqual(["viewer", "operator"]);
  await page.locator("tokens-page #token-name").fill("ci");
  await page.locator("tokens-page #token-role").selectOption("viewer");
  await page.locator("tokens-page #create-token").click();
  const secret = (await page.locator("tokens-page [data-api-token]").textContent())!.trim();
  expect(secret.length).toBeGreaterThan(16);
  const row = page.locator('tokens-page tr[data-token-name="ci"]');
  await expect(row.locator("[data-role]").textContent()).resolves.toBe("Viewer");
  const hosts = await request(`${stack.api.url}/api/hosts`, { headers: { Authorization: `Bearer ${secret}` } });
  expect(hosts.status).toBe(200);
  expect(hosts.json<{ hosts: { id: string }[] }>().hosts.map((h) => h.id)).toEqual([stageHost]);
  // Shown once: after a reload the list has it, the secret is gone from the page.
  await page.reload();
  await row.waitFor();
  expect(await page.locator("tokens-page [data-api-token]").count()).toBe(0);

  await row.locator(".revoke-token").click();
  await page.locator("tokens-page confirm-dialog #confirm-ok").click();
  await row.waitFor({ state: "detached" });
  expect((await request(`${stack.api.url}/api/hosts`, { headers: { Authorization: `Bearer ${secret}` } })).status).toBe(401);
});

test("the admin gives the operator every team: the operator's open page, on the other hub, shows both hosts with no reload", async () => {
  await visit(operator.page, "#/", `host-card[data-host-id="${stageHost}"]`);
  await operator.page.evaluate(() => ((globalThis as unknown as { __sameDocument: boolean }).__sameDocument = true));
  await visit(admin.page, "#/users", 'users-page tr[data-username="olive"]');
  await admin.page.locator('users-page tr[data-username="olive"] .edit-user').click();
  await setTeams(admin.page, null, []);
  await admin.page.locator("user-dialog #save-user").click();
  await admin.page
    .locator('users-page tr[data-username="olive"] [data-teams]')
    .filter({ hasText: /^Every team$/ })
    .waitFor();

  await operator.page.locator(`host-card[data-host-id="${prodHost}"]`).waitFor();
  expect(await cardIds(operator.page)).toEqual([prodHost, stageHost].sort());
  await expect(operator.page.evaluate(() => (globalThis as unknown as { __sameDocument?: boolean }).__sameDocument)).resolves.toBe(true);
});

test("a user changes its own password and signs in with the new one", async () => {
  const { page } = viewer;
  await visit(page, "#/account", "account-page #current");
  await page.locator("account-page #current").fill(vic.password);
  await page.locator("account-page #new-password").fill("vic-new-password-2");
  await page.locator("account-page #repeat-password").fill("vic-new-password-2");
  await page.locator("account-page #change-password").click();
  await page.locator("account-page #password-changed").waitFor();
  await page.locator("#logout").click();
  await fillLogin(page, vic.username, vic.password);
  await expect(page.locator("login-page #login-error").textContent()).resolves.toBe("Wrong username or password");
  await fillLogin(page, vic.username, "vic-new-password-2");
  await page.locator('connection-indicator[data-state="live"]').waitFor();
});

test("the new pages fit a phone screen; no page threw", async () => {
  const { page } = admin;
  await page.setViewportSize({ width: 390, height: 844 });
  for (const [route, ready] of [
    ["#/users", "users-page tr[data-username]"],
    ["#/teams", "teams-page tr[data-team-id]"],
    ["#/audit", "audit-page #audit-actor"],
    ["#/tokens", "tokens-page #token-name"],
    ["#/account", "account-page #current"],
    [`#/hosts/${stageHost}`, "host-view #host-team"],
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
  expect([...admin.errors, ...operator.errors, ...viewer.errors]).toEqual([]);
});
