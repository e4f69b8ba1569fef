/**
 * Steps of the teams dashboard test, done the way a person does them: through the pages, in
 * real Chromium. Each waits for what the page shows when the step is done.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { startTestRedis } from "../support/redis";
import { startService, type ServiceProcess } from "../support/service";

/** Most a UI change may take to show; generous for a loaded CI machine. */
export const UI_MS = 10_000;

/** One person's browser: its own context (cookies), page, and every frame its sockets received. */
export interface Person {
  context: BrowserContext;
  page: Page;
  /** Text of every WebSocket frame the page received, in order. */
  frames: string[];
  /** Uncaught page errors. */
  errors: string[];
}

/** Opens a fresh browser context (no shared cookies) and signs `username` in at `origin`. */
export async function signIn(browser: Browser, origin: string, username: string, password: string): Promise<Person> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: "light", reducedMotion: "reduce" });
  context.setDefaultTimeout(UI_MS);
  const page = await context.newPage();
  const person: Person = { context, page, frames: [], errors: [] };
  page.on("pageerror", (error) => person.errors.push(String(error)));
  page.on("websocket", (socket) =>
    socket.on("framereceived", ({ payload }) => person.frames.push(typeof payload === "string" ? payload : payload.toString("utf8"))),
  );
  await page.goto(`${origin}/`);
  await fillLogin(page, username, password);
  await page.locator('connection-indicator[data-state="live"]').waitFor();
  return person;
}

export async function fillLogin(page: Page, username: string, password: string): Promise<void> {
  await page.locator("login-page input[name=username]").fill(username);
  await page.locator("login-page input[name=password]").fill(password);
  await page.locator("login-page button[type=submit]").click();
}

/** Goes to a hash route and waits for `ready` to show. */
export async function visit(page: Page, hash: string, ready: string): Promise<void> {
  await page.evaluate((h) => ((globalThis as unknown as { location: { hash: string } }).location.hash = h), hash);
  await page.locator(ready).first().waitFor();
}

/** Adds a team on the Teams page; resolves with its id. */
export async function addTeam(page: Page, name: string): Promise<string> {
  await visit(page, "#/teams", "teams-page #team-name");
  await page.locator("teams-page #team-name").fill(name);
  await page.locator("teams-page #create-team").click();
  const row = page.locator(`teams-page tr[data-team-name="${name}"]`);
  await row.waitFor();
  return (await row.getAttribute("data-team-id"))!;
}

/** Adds a host in `teamId` through the add-host dialog; resolves with its id and token. */
export async function addHost(page: Page, name: string, teamId: string): Promise<{ hostId: string; token: string }> {
  await visit(page, "#/", "#add-host");
  await page.locator("#add-host").click();
  const dialog = page.locator("add-host-dialog");
  await dialog.locator("input[name=name]").fill(name);
  await dialog.locator("#host-team").selectOption(teamId);
  await dialog.locator("#create-host").click();
  const token = (await dialog.locator("[data-token]").textContent())!.trim();
  const hostId = (await dialog.locator(".agent-status").getAttribute("data-host-id"))!;
  await dialog.getByRole("button", { name: "Done" }).click();
  return { hostId, token };
}

/** Adds a user on the Users page with a role and teams (team ids; null for every team). */
export async function addUser(
  page: Page,
  user: { username: string; password: string; role: string; teams: string[] | null },
  allTeamIds: string[],
): Promise<void> {
  await visit(page, "#/users", "users-page #add-user");
  await page.locator("users-page #add-user").click();
  const dialog = page.locator("user-dialog");
  await dialog.locator("input[name=username]").fill(user.username);
  await dialog.locator("input[name=password]").fill(user.password);
  await dialog.locator("select[name=role]").selectOption(user.role);
  await setTeams(page, user.teams, allTeamIds);
  await dialog.locator("#save-user").click();
  await page.locator(`users-page tr[data-username="${user.username}"] td[data-role="${user.role}"]`).waitFor();
}

/** Ticks exactly `teams` in the open user dialog (or "every team" for null). */
export async function setTeams(page: Page, teams: string[] | null, allTeamIds: string[]): Promise<void> {
  const dialog = page.locator("user-dialog");
  await dialog.locator("input[name=all-teams]").setChecked(teams === null);
  if (teams === null) return;
  for (const id of allTeamIds) await dialog.locator(`input[name=team][value="${id}"]`).setChecked(teams.includes(id));
}

/** Types a command line into the open host's console; resolves with the new command's id. */
export async function runCommand(page: Page, line: string): Promise<string> {
  const open = page.locator("command-console .summary");
  const previous = (await open.count()) > 0 ? await open.getAttribute("data-command-id") : null;
  await page.locator("host-view #command-input").fill(line);
  await page.locator("host-view #command-input").press("Enter");
  const summary = page.locator(`command-console .summary[data-command-id]${previous ? `:not([data-command-id="${previous}"])` : ""}`);
  await summary.waitFor();
  return (await summary.getAttribute("data-command-id"))!;
}

/** The ids of the host cards the fleet page shows. */
export async function cardIds(page: Page): Promise<string[]> {
  return (await page.locator("host-card").evaluateAll((cards) => cards.map((c) => c.getAttribute("data-host-id") ?? ""))).sort();
}

/** What the teams test needs of a deployment: an api, two hubs and a worker over one Redis. */
export interface TeamsStack {
  api: ServiceProcess;
  hubs: [ServiceProcess, ServiceProcess];
  admin: { username: string; password: string };
  stop(): Promise<void>;
}

/**
 * Like the harness's startStack, with a longer readiness deadline (60 s: tsx compiles each
 * service on its first start, which takes over 20 s on a loaded 2-core machine) and the
 * services started one after another so they do not compete for the cores while compiling.
 */
export async function startTeamsStack(allowedOrigin: string): Promise<TeamsStack> {
  const redis = await startTestRedis();
  const started: ServiceProcess[] = [];
  const admin = { username: "admin", password: `pw-${randomBytes(8).toString("hex")}` };
  const env: Record<string, string> = {
    REDIS_URL: redis.url,
    REDIS_PREFIX: redis.prefix,
    SESSION_SECRET: randomBytes(32).toString("hex"),
    COMMAND_SIGNING_KEY: generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    ADMIN_USER: admin.username,
    ADMIN_PASSWORD: admin.password,
    ALLOWED_ORIGINS: allowedOrigin,
  };
  const stop = async () => {
    await Promise.all(started.map((s) => s.stop()));
    await redis.stop();
  };
  try {
    for (const [kind, id] of [
      ["api", "api"],
      ["hub", "hub1"],
      ["hub", "hub2"],
      ["worker", "worker"],
    ] as const) {
      started.push(await startService(kind, { ...env, NODE_ID: `${id}-${randomBytes(3).toString("hex")}` }, { readyTimeoutMs: 60_000 }));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { api: started[0]!, hubs: [started[1]!, started[2]!], admin, stop };
}
