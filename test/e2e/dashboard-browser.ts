/**
 * Real Chromium for the dashboard test: Debian's `/usr/bin/chromium` driven by playwright-core,
 * and the few in-page probes the test needs (functions that run inside the page).
 *
 * The root tsconfig has no DOM lib (it type-checks Node code), so the in-page functions reach
 * the page's globals through the small structural types below instead of DOM declarations.
 */
import { existsSync } from "node:fs";
import { chromium, type Browser, type Locator, type Page } from "playwright-core";

/** Where Debian installs Chromium (`apt-get install -y chromium`). */
export const CHROMIUM = "/usr/bin/chromium";

/** Launches headless Chromium; fails (never skips) with what to install when it is missing. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: the dashboard test drives Debian's Chromium. Install it with ` +
        "`apt-get update && apt-get install -y chromium` (npm test does this when run as root).",
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  });
}

/** An element as the in-page functions see it. */
interface PageElement {
  getAttribute(name: string): string | null;
}
/** The page's `MutationObserver`, as far as the probes use it. */
interface PageGlobals {
  MutationObserver: new (callback: (records: { oldValue: string | null }[]) => void) => {
    observe(target: PageElement, options: { attributes: true; attributeOldValue: true; attributeFilter: string[] }): void;
  };
  __tetherRecorders?: Record<string, Recorded[]>;
}

/**
 * Starts recording every value of `attribute` on the element `locator` points at, with the
 * page's `Date.now()` of each change (a MutationObserver, so a state that lasts a few ms is
 * not missed the way polling would miss it). Read it back with {@link recordedUntil}.
 */
export async function recordAttribute(locator: Locator, attribute: string, name: string): Promise<void> {
  await locator.evaluate(
    (el: PageElement, [attr, key]: [string, string]) => {
      const page = globalThis as unknown as PageGlobals;
      const log = ((page.__tetherRecorders ??= {})[key] = [{ at: Date.now(), value: el.getAttribute(attr) }]);
      const note = (value: string | null) => {
        if (log[log.length - 1]!.value !== value) log.push({ at: Date.now(), value });
      };
      // One callback may carry several changes: each record's old value is the value the
      // previous change set, so a state that lasted less than a task is kept too.
      new page.MutationObserver((records) => {
        for (const record of records.slice(1)) note(record.oldValue);
        note(el.getAttribute(attr));
      }).observe(el, { attributes: true, attributeOldValue: true, attributeFilter: [attr] });
    },
    [attribute, name] as [string, string],
  );
}

/** One value an attribute took, with the page's `Date.now()` when it did. */
export interface Recorded {
  at: number;
  value: string | null;
}

/**
 * Waits (every animation frame) until what {@link recordAttribute} recorded under `name`
 * contains `passing` and then ends with `last` (e.g. "reconnecting", then "live" again), and
 * returns every record.
 */
export async function recordedUntil(
  page: Page,
  name: string,
  { passing, last }: { passing: string; last: string },
  timeoutMs: number,
): Promise<Recorded[]> {
  const read = () => page.evaluate((key) => (globalThis as unknown as PageGlobals).__tetherRecorders?.[key] ?? [], name);
  await page
    .waitForFunction(
      ([key, through, end]: [string, string, string]) => {
        const values = ((globalThis as unknown as PageGlobals).__tetherRecorders?.[key] ?? []).map((r) => r.value);
        const at = values.indexOf(through);
        return at !== -1 && values.length > at + 1 && values[values.length - 1] === end;
      },
      [name, passing, last] as [string, string, string],
      { polling: "raf", timeout: timeoutMs },
    )
    .catch(async (error: unknown) => {
      throw new Error(`${name} never went through "${passing}" to "${last}"; recorded: ${JSON.stringify(await read())} (${String(error)})`);
    });
  return read();
}

/** What {@link reachedAt} waits for on an element. */
export type ElementCondition = { attribute: string; equals: string } | { textIncludes: string };

/**
 * Waits, checking on every animation frame (the frame the change is painted in), until the
 * element `locator` points at meets `condition`; resolves with the page's `Date.now()` then.
 * The element is looked up first, so call this before causing the change.
 */
export async function reachedAt(
  page: Page,
  locator: Locator,
  condition: ElementCondition,
  timeoutMs: number,
): Promise<() => Promise<number>> {
  const element = await locator.elementHandle({ timeout: timeoutMs });
  if (!element) throw new Error(`no element for ${String(locator)}`);
  const waiting = page.waitForFunction(
    ([el, check]: [PageElement & { textContent: string | null }, ElementCondition]) =>
      ("attribute" in check ? el.getAttribute(check.attribute) === check.equals : (el.textContent ?? "").includes(check.textIncludes)) &&
      Date.now(),
    [element as unknown as PageElement & { textContent: string | null }, condition] as [
      PageElement & { textContent: string | null },
      ElementCondition,
    ],
    { polling: "raf", timeout: timeoutMs },
  );
  // Handled here so that a failure elsewhere first leaves no unhandled rejection behind.
  const result = waiting.then(
    async (handle) => ({ ok: true as const, at: (await handle.jsonValue()) as number }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  return async () => {
    const outcome = await result;
    if (!outcome.ok) throw new Error(`${String(locator)} never met ${JSON.stringify(condition)}: ${String(outcome.error)}`);
    return outcome.at;
  };
}

/** A cell of the console's terminal, as `command-output`'s `cellOf()` hook reports it. */
export interface ConsoleCell {
  line: number;
  column: number;
  chars: string;
  fgMode: "default" | "palette" | "rgb";
  fg: number;
  bold: boolean;
}

/** The `command-output` element's test hooks (web/src/components/command-output.ts). */
interface ConsoleHooks {
  readText(): string;
  cellOf(needle: string): ConsoleCell | undefined;
  scrollState(): { viewportY: number; baseY: number; following: boolean };
  write(stream: "stdout" | "stderr", data: string): void;
}

/**
 * The console's output as text, read from the terminal's buffer (xterm's buffer API): what it
 * shows after colours and `\r` redraws, rows the terminal wrapped joined back.
 */
export async function consoleText(page: Page): Promise<string> {
  return page.locator("command-output").evaluate((el) => (el as unknown as ConsoleHooks).readText());
}

/** The first terminal cell where `needle` starts, with its colour (palette index or RGB). */
export async function consoleCell(page: Page, needle: string): Promise<ConsoleCell | undefined> {
  return page.locator("command-output").evaluate((el, n) => (el as unknown as ConsoleHooks).cellOf(n), needle);
}

/** Where the console's viewport is: `viewportY` at `baseY` means it shows the newest line. */
export async function consoleScroll(page: Page): Promise<{ viewportY: number; baseY: number; following: boolean }> {
  return page.locator("command-output").evaluate((el) => (el as unknown as ConsoleHooks).scrollState());
}
