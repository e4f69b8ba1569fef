/**
 * Issue 18.1: the dashboard's console (`command-output`, xterm.js) writing a million lines in
 * Chromium, batched as hub frames arrive (one frame per task), under the api's real CSP.
 *
 *   node --import tsx bench/console-terminal.ts [--lines 1000000] [--frames 50,200,500]
 *
 * Builds the component alone with the dashboard's esbuild settings into a temporary folder,
 * serves it with the api's security headers, and prints one JSON line per frame size: time
 * until xterm parsed the last line, main-thread long tasks, JS heap and ArrayBuffer memory.
 */
import { mkdtemp, rm, copyFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import * as esbuild from "esbuild";
import express from "express";
import { securityHeaders } from "../services/api/src/middleware/security-headers";
import { launchChromium } from "../test/e2e/dashboard-browser";
import { measureTerminalWrite } from "../test/e2e/dashboard-terminal-probe";

const WEB = path.resolve(__dirname, "../web");

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { lines: { type: "string" }, frames: { type: "string" } } });
  const lines = Number(values.lines ?? 1_000_000);
  const frameSizes = (values.frames ?? "50,200,500").split(",").map(Number);
  const dir = await mkdtemp(path.join(tmpdir(), "tether-console-bench-"));
  const browser = await launchChromium();
  const server = await new Promise<import("node:http").Server>((resolve) => {
    const app = express();
    app.use(securityHeaders());
    app.use(express.static(dir));
    const listening = app.listen(0, "127.0.0.1", () => resolve(listening));
  });
  try {
    await esbuild.build({
      stdin: {
        contents:
          'import "./lib/csp"; import "./components/command-output"; document.body.append(document.createElement("command-output"));',
        resolveDir: path.join(WEB, "src"),
        loader: "ts",
      },
      outdir: dir,
      entryNames: "entry",
      chunkNames: "chunks/[name]-[hash]",
      bundle: true,
      splitting: true,
      format: "esm",
      target: "es2022",
      minify: true,
      tsconfig: path.join(WEB, "tsconfig.json"),
      loader: { ".css": "text" },
      logLevel: "warning",
    });
    await copyFile(path.join(WEB, "src/app.css"), path.join(dir, "app.css"));
    await writeFile(
      path.join(dir, "index.html"),
      '<!doctype html><html><head><link rel="stylesheet" href="app.css"></head><body><script type="module" src="entry.js"></script></body></html>',
    );
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    console.log(`chromium ${browser.version()}, ${lines.toLocaleString("en")} lines per run`);
    for (const linesPerFrame of frameSizes) {
      const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
      const page = await context.newPage();
      const violations: string[] = [];
      page.on("console", (m) => /Content Security Policy/i.test(m.text()) && violations.push(m.text()));
      await page.goto(`${origin}/`);
      const output = page.locator("command-output");
      await output.locator(".xterm-screen").waitFor();
      const figures = await measureTerminalWrite(page, output, { lines, linesPerFrame, timeoutMs: 600_000 });
      console.log(JSON.stringify({ ...figures, cspViolations: violations.length }));
      await context.close();
    }
  } finally {
    await browser.close();
    server.close();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
