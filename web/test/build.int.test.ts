import { spawn } from "node:child_process";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Every custom element the dashboard defines (file name = tag name). */
const TAGS = [
  "tether-app",
  "login-page",
  "connection-indicator",
  "host-list",
  "host-card",
  "add-host-dialog",
  "token-reveal",
  "confirm-dialog",
  "host-view",
  "command-form",
  "command-history",
  "command-console",
  "command-output",
  "app-nav",
  "host-details",
  "users-page",
  "user-dialog",
  "teams-page",
  "tokens-page",
  "audit-page",
  "account-page",
  "run-dialog",
  "run-list",
  "run-view",
  "run-grid",
  "run-output",
  "run-summary",
  "run-progress",
];

const webDir = join(__dirname, "..");

function run(command: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: webDir, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (data: Buffer) => (output += data.toString()));
    child.stderr.on("data", (data: Buffer) => (output += data.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

describe("web build", () => {
  let outdir: string;

  beforeAll(async () => {
    outdir = await mkdtemp(join(tmpdir(), "tether-web-"));
  });
  afterAll(async () => {
    await rm(outdir, { recursive: true, force: true });
  });

  it("bundles the dashboard with every custom element and the static files", async () => {
    const { code, output } = await run(process.execPath, ["build.mjs", "--outdir", outdir]);
    expect({ code, output }).toMatchObject({ code: 0 });
    expect((await readdir(outdir)).sort()).toEqual(
      expect.arrayContaining(["app.css", "app.js", "app.js.map", "favicon.svg", "index.html"]),
    );

    const bundle = await readFile(join(outdir, "app.js"), "utf8");
    for (const tag of TAGS) expect(bundle).toContain(`"${tag}"`);
    // Each tag has its source file, and no component source is left out of the list.
    const components = (await readdir(join(webDir, "src/components"))).map((file) => file.replace(/\.ts$/, ""));
    expect(components.sort()).toEqual([...TAGS].sort());

    const html = await readFile(join(outdir, "index.html"), "utf8");
    expect(html).toMatch(/<script type="module" src="app\.js\?v=[0-9a-f]{12}"><\/script>/);
    expect(html).toContain("<tether-app></tether-app>");
    // The API's CSP is `default-src 'self'`: an inline script, inline style or data: URL would not load.
    expect(html.match(/<script\b[^>]*>/g)).toEqual([expect.stringMatching(/ src="app\.js\?v=/)]);
    expect(html).not.toMatch(/\sstyle=|<style|data:|https?:\/\//);
    expect(bundle).not.toMatch(/ style="/);
    // Relative URLs only: the API serves the dashboard at `/`, the socket is on the same origin.
    expect(bundle).toContain("/ws");
    expect(bundle).not.toMatch(/wss?:\/\/localhost/);
    expect(bundle.length).toBeLessThan(400_000);
  });
});
