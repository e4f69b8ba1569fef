/**
 * Steps of the runs dashboard test (issue 14 point 3), done through the pages in real
 * Chromium; each waits for what the page shows when it is done.
 */
import type { Page } from "playwright-core";

/**
 * The allow-list every test agent gets: `check` prints two lines naming the host (on stdout; the
 * failing host one of them on stderr) and exits 0, or 1 where `fails`; `hold` sleeps a minute (to
 * be cancelled). The same command name means a different program per host, as on a real fleet.
 */
export function runCommands(hostName: string, fails: boolean): Record<string, string[]> {
  const check = fails
    ? ["sh", "-c", 'echo "$0 broken" >&2; echo "$0 line one"; exit 1', hostName]
    : ["sh", "-c", 'echo "$0 line one"; echo "$0 line two"', hostName];
  return { check, hold: ["sleep", "60"] };
}

/** Ticks one host's card on the fleet page. */
export async function pickHost(page: Page, hostId: string): Promise<void> {
  await page.locator(`host-card[data-host-id="${hostId}"] input[data-select-host]`).check();
  await page.locator(`host-card[data-host-id="${hostId}"][data-selected]`).waitFor();
}

/** Types into the fleet filter (empty clears it). */
export async function filterFleet(page: Page, text: string): Promise<void> {
  await page.locator("host-list #filter").fill(text);
}

/** Opens "Run on N hosts" (N must be `expected`), fills the command line, starts it; resolves with the run id. */
export async function startRun(page: Page, line: string, expected: number): Promise<string> {
  const button = page.locator("host-list #run-on-hosts");
  await button.filter({ hasText: `Run on ${expected} hosts` }).waitFor();
  await button.click();
  const dialog = page.locator("run-dialog");
  await dialog.locator("#run-line").fill(line);
  await dialog.locator("#start-run").click();
  const error = dialog.locator("#run-error");
  const opened = page.waitForFunction(() =>
    /^#\/runs\/[^/]+$/.test((globalThis as unknown as { location: { hash: string } }).location.hash),
  );
  // The dialog's error, when the API refused, says why (rather than a bare timeout).
  const refused = error.waitFor().then(async () => {
    throw new Error(`the run was refused: ${await error.textContent()}`);
  });
  await Promise.race([opened, refused]);
  refused.catch(() => undefined);
  await page.locator("run-view run-grid").waitFor();
  const hash = await page.evaluate(() => (globalThis as unknown as { location: { hash: string } }).location.hash);
  return decodeURIComponent(hash.slice("#/runs/".length));
}

/** The run page's lines of combined output, in order. */
export async function combinedLines(page: Page): Promise<string[]> {
  const text = (await page.locator("run-view run-output pre.combined").textContent()) ?? "";
  return text.split("\n").filter((line) => line !== "");
}

/** `host-name → status` of the run grid's tiles. */
export async function tileStatuses(page: Page): Promise<Record<string, string>> {
  const pairs = await page
    .locator("run-view run-grid a.tile")
    .evaluateAll((tiles) => tiles.map((t) => [t.getAttribute("data-host-name") ?? "", t.getAttribute("data-status") ?? ""]));
  return Object.fromEntries(pairs);
}
