/**
 * Issue 18.3: `GET /api/docs` is a page that renders the api's OpenAPI document in a real
 * Chromium, under the page's CSP, from files the api serves itself (no CDN, no font service).
 * A real api process over a real Redis; the browser is Debian's Chromium (playwright-core).
 */
import { randomBytes } from "node:crypto";
import type { Browser, Page } from "playwright-core";
import { startTestRedis, type TestRedis } from "../support/redis";
import { startService, type ServiceProcess } from "../support/processes";
import { request } from "../support/http";
import { launchChromium } from "./dashboard-browser";
import { DOCS_CSP, EXPLORER_SCRIPT } from "../../services/api/src/routes/docs";

/** A deadline for the page to render, not a target (the bundle is 750 kB of JavaScript; the machine is shared). */
const UI_MS = 30_000;

let redis: TestRedis;
let api: ServiceProcess;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
const consoleProblems: string[] = [];
const requested: string[] = [];

beforeAll(async () => {
  redis = await startTestRedis();
  api = await startService("api", { REDIS_URL: redis.url, REDIS_PREFIX: redis.prefix, SESSION_SECRET: randomBytes(32).toString("hex") });
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  // Every CSP violation the page reports, from before its first script runs.
  await context.addInitScript(() => {
    const seen: string[] = [];
    (globalThis as unknown as { __cspViolations: string[] }).__cspViolations = seen;
    type Violation = { violatedDirective: string; blockedURI: string; sourceFile: string; lineNumber: number };
    const doc = (globalThis as unknown as { document: { addEventListener(type: string, fn: (e: Violation) => void): void } }).document;
    doc.addEventListener("securitypolicyviolation", (e) =>
      seen.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`),
    );
  });
  page = await context.newPage();
  page.on("pageerror", (error) => pageErrors.push(String(error)));
  page.on("console", (message) => {
    if (message.type() === "warning" || message.type() === "error") consoleProblems.push(`${message.type()}: ${message.text()}`);
  });
  page.on("request", (req) => requested.push(req.url()));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await api?.stop();
  await redis?.stop();
});

test("the page and its script are served with their own CSP and long cache headers", async () => {
  const html = await request(`${api.url}/api/docs`);
  expect(html.status).toBe(200);
  expect(html.headers["content-type"]).toMatch(/^text\/html/);
  expect(html.headers["content-security-policy"]).toBe(DOCS_CSP);
  expect(html.text).toContain(`<script src="${EXPLORER_SCRIPT}"></script>`);
  const script = await request(`${api.url}${EXPLORER_SCRIPT}`);
  expect(script.status).toBe(200);
  expect(script.headers["content-type"]).toMatch(/javascript/);
  expect(script.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
  // Any other version's path is not there: a stale page never gets a mismatched bundle.
  expect((await request(`${api.url}/api/docs/assets/0.0.0/openapi-explorer.min.js`)).status).toBe(404);
});

test("renders every operation of the document in Chromium, with no CSP violation and nothing fetched elsewhere", async () => {
  const document = JSON.parse((await request(`${api.url}/api/openapi.json`)).text) as {
    paths: Record<string, Record<string, { summary: string }>>;
  };
  const summaries = Object.values(document.paths).flatMap((item) => Object.values(item).map((op) => op.summary));
  expect(summaries.length).toBeGreaterThan(20);

  const response = await page.goto(`${api.url}/api/docs`);
  expect(response!.headers()["content-security-policy"]).toBe(DOCS_CSP);
  // openapi-explorer renders into its shadow root (Playwright's locators pierce open ones).
  for (const summary of summaries) {
    await page.getByText(summary, { exact: true }).first().waitFor({ state: "attached", timeout: UI_MS });
  }
  await page.getByText("Run a command on a host", { exact: true }).first().waitFor({ state: "visible", timeout: UI_MS });

  const violations = await page.evaluate(
    () => (globalThis as unknown as { __cspViolations?: string[] }).__cspViolations ?? ["no listener"],
  );
  expect([...violations, ...consoleProblems.filter((line) => /Content Security Policy/i.test(line))]).toEqual([]);
  expect(pageErrors).toEqual([]);
  expect(requested.filter((url) => !url.startsWith(`${api.url}/`) && !url.startsWith("data:"))).toEqual([]);
});
