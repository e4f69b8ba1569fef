/**
 * Measures the console's terminal in Chromium: many lines written the way hub frames arrive
 * (one `command_output` frame per task, `linesPerFrame` lines each, some of them coloured),
 * timed until xterm has parsed the last one (`data-lines`), with the main thread's long tasks
 * (PerformanceObserver "longtask": tasks over 50 ms) and the JS heap before and after (CDP
 * `Performance.getMetrics` after a forced GC). Used by the dashboard console test (a smaller
 * count) and by `bench/console-terminal.ts` (a million lines).
 */
import type { Locator, Page } from "playwright-core";

/** What one run measured. */
export interface TerminalWriteFigures {
  lines: number;
  linesPerFrame: number;
  /** First frame handed to the console → xterm parsed the last line (ms). */
  writtenMs: number;
  /** Long tasks (> 50 ms) on the main thread meanwhile: how many, the longest, their sum (ms). */
  longTasks: number;
  longestTaskMs: number;
  longTasksTotalMs: number;
  /** JS heap in use before and after (MiB), each after a forced GC. */
  heapBeforeMiB: number;
  heapAfterMiB: number;
  /** ArrayBuffer backing stores before and after (MiB; xterm keeps each line in a typed array). */
  buffersBeforeMiB: number;
  buffersAfterMiB: number;
  /** Lines the terminal keeps (its scrollback + rows) and its width in columns. */
  bufferLines: number;
  cols: number;
}

interface ProbeGlobals {
  MessageChannel: new () => { port1: { onmessage: (() => void) | null }; port2: { postMessage(v: unknown): void } };
  PerformanceObserver: new (cb: (list: { getEntries(): { duration: number }[] }) => void) => {
    observe(o: { type: string; buffered?: boolean }): void;
    disconnect(): void;
  };
  performance: { now(): number };
  MutationObserver: new (cb: () => void) => { observe(t: unknown, o: unknown): void; disconnect(): void };
}

interface ProbeElement {
  getAttribute(name: string): string | null;
  write(stream: "stdout" | "stderr", data: string): void;
  scrollState(): { viewportY: number; baseY: number };
}

/** JS heap used and ArrayBuffer backing stores (MiB), after a forced GC. */
async function heapMiB(page: Page): Promise<{ heap: number; buffers: number }> {
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send("HeapProfiler.collectGarbage");
    // `backingStorageSize` is newer than playwright-core's protocol types.
    const usage = (await cdp.send("Runtime.getHeapUsage")) as { usedSize: number; backingStorageSize?: number };
    return { heap: round(usage.usedSize / 2 ** 20), buffers: round((usage.backingStorageSize ?? 0) / 2 ** 20) };
  } finally {
    await cdp.detach();
  }
}

/**
 * Streams `lines` lines into the `command-output` at `output` (already showing `startLines`
 * lines) and measures it; resolves when xterm has parsed them all, or rejects after `timeoutMs`.
 */
export async function measureTerminalWrite(
  page: Page,
  output: Locator,
  { lines, linesPerFrame, timeoutMs }: { lines: number; linesPerFrame: number; timeoutMs: number },
): Promise<TerminalWriteFigures> {
  // Run through tsx (the bench), esbuild's keepNames wraps the in-page functions in `__name()`.
  await page.evaluate("globalThis.__name ??= (fn) => fn");
  const before = await heapMiB(page);
  const start = Number(await output.getAttribute("data-lines"));
  const measured = await output.evaluate(
    (el, [total, perFrame, from, deadline]) =>
      new Promise<Omit<TerminalWriteFigures, "heapBeforeMiB" | "heapAfterMiB" | "buffersBeforeMiB" | "buffersAfterMiB">>(
        (resolve, reject) => {
          const page = globalThis as unknown as ProbeGlobals;
          const target = el as unknown as ProbeElement & { terminalSize?(): { bufferLines: number; cols: number } };
          const tasks: number[] = [];
          const longTasks = new page.PerformanceObserver((list) => {
            for (const entry of list.getEntries()) tasks.push(entry.duration);
          });
          longTasks.observe({ type: "longtask" });
          const frame = (first: number, n: number) => {
            let text = "";
            for (let i = first; i < first + n; i++) {
              // One line in ten coloured, as build or test logs are: the parser's slow path too.
              text +=
                i % 10 === 0 ? `\u001b[32mok\u001b[0m line ${i} of the console benchmark\n` : `line ${i} of the console benchmark, plain\n`;
            }
            return text;
          };
          const began = page.performance.now();
          const goal = String(from + total);
          const done = () => {
            longTasks.disconnect();
            watcher.disconnect();
            clearTimeout(timer);
            const size = target.terminalSize?.() ?? { bufferLines: 0, cols: 0 };
            resolve({
              lines: total,
              linesPerFrame: perFrame,
              writtenMs: Math.round(page.performance.now() - began),
              longTasks: tasks.length,
              longestTaskMs: Math.round(Math.max(0, ...tasks)),
              longTasksTotalMs: Math.round(tasks.reduce((a, b) => a + b, 0)),
              ...size,
            });
          };
          const watcher = new page.MutationObserver(() => target.getAttribute("data-lines") === goal && done());
          watcher.observe(el, { attributes: true, attributeFilter: ["data-lines"] });
          const timer = setTimeout(() => {
            watcher.disconnect();
            longTasks.disconnect();
            reject(new Error(`only ${target.getAttribute("data-lines")} of ${goal} lines written after ${deadline} ms`));
          }, deadline);
          // One frame per task, as WebSocket messages arrive (MessageChannel: no 4 ms timer clamp).
          const channel = new page.MessageChannel();
          let sent = 0;
          channel.port1.onmessage = () => {
            const n = Math.min(perFrame, total - sent);
            target.write("stdout", frame(from + sent, n));
            sent += n;
            if (sent < total) channel.port2.postMessage(0);
          };
          channel.port2.postMessage(0);
        },
      ),
    [lines, linesPerFrame, start, timeoutMs] as [number, number, number, number],
  );
  const after = await heapMiB(page);
  return {
    ...measured,
    heapBeforeMiB: before.heap,
    heapAfterMiB: after.heap,
    buffersBeforeMiB: before.buffers,
    buffersAfterMiB: after.buffers,
  };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
