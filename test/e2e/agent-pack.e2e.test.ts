/**
 * Issue 5: the agent "with npx once packed". `npm pack` bundles it into one dependency-free file;
 * `npx --package=<tarball> tether-agent` then runs it on a machine with nothing but Node, and it
 * registers with a real hub.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { connectBrowser, createHost, login } from "../support/clients";
import { startStack, type Stack } from "../support/processes";
import { readLines } from "../support/children";

const ROOT = path.resolve(__dirname, "../..");
let stack: Stack;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), "tether-pack-"));
  stack = await startStack({ hubs: 1 });
});
afterAll(async () => {
  await stack?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("the packed agent runs through npx and registers", async () => {
  const pack = spawnSync("npm", ["pack", "-w", "packages/agent", "--pack-destination", dir], { cwd: ROOT, encoding: "utf8" });
  expect(pack.status).toBe(0);
  const tarball = path.join(
    dir,
    readdirSync(dir).find((f) => f.endsWith(".tgz"))!,
  );

  const cookie = await login(stack.api.url, stack.admin.username, stack.admin.password);
  const { host, token } = await createHost(stack.api.url, cookie, "packed");
  const tokenFile = path.join(dir, "token");
  writeFileSync(tokenFile, token, { mode: 0o600 });
  const browser = await connectBrowser(stack.hubs[0]!.wsUrl, cookie, { origin: stack.origin });
  await browser.next("hosts");

  // Outside the repo, with only PATH and HOME: nothing of the workspace can leak in. npx runs the
  // agent as its own child and does not pass SIGTERM on, so both live in a process group of their
  // own, and the test stops the whole group.
  const agent = spawn("npx", ["--yes", `--package=${tarball}`, "tether-agent", "--url", stack.hubs[0]!.wsUrl, "--token-file", tokenFile], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: dir, npm_config_cache: path.join(dir, "npm-cache") },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const closed = new Promise<void>((resolve) => agent.once("close", () => resolve()));
  const lines: string[] = [];
  readLines(agent, (line) => lines.push(line));
  try {
    const online = await browser.next(
      (f) => f.type === "host_update" && f.payload.host.id === host.id && f.payload.host.hostname !== undefined,
      30_000,
    );
    expect(online.payload.host).toMatchObject({ status: "online", version: expect.any(String) });
  } catch (err) {
    throw new Error(`${(err as Error).message}\nagent said:\n${lines.join("\n")}`, { cause: err });
  } finally {
    process.kill(-agent.pid!, "SIGTERM");
    await closed; // 'close': every end of the pipes is shut, so nothing of the group is left
    await browser.close();
  }
});
