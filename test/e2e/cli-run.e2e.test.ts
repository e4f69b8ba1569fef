/**
 * Issue 14 point 4: `npm run tether -- run …` (scripts/tether.ts) against a real stack (api, two
 * hubs, worker) with three reference agents as real processes verifying signatures, driven by an
 * operator's API token: prefixed output, the summary table, and the exit status a deploy
 * pipeline relies on (0 all succeeded, 1 any failed, 2 a usage error).
 */
import path from "node:path";
import { startStack, type Stack } from "../support/processes";
import { apiCall, createHost, login, request } from "../support/clients";
import { readLines, spawnOwned } from "../support/children";
import { withTimeout } from "../support/wait";
import { agentTempDir, spawnAgentProcess, type AgentProcess } from "./agent-process";

const ROOT = path.resolve(__dirname, "../..");
let stack: Stack;
let cookie: string;
let token: string;
let tmp: ReturnType<typeof agentTempDir>;
const agents: AgentProcess[] = [];

/** `web-1`, `web-2` succeed; `web-3` prints a line on each stream and exits 3. */
const SCRIPTS: Record<string, string[]> = {
  "web-1": ["sh", "-c", "echo deploying; echo done"],
  "web-2": ["sh", "-c", "echo deploying; printf 'no newline at the end'"],
  "web-3": ["sh", "-c", "echo deploying; echo 'it broke' >&2; exit 3"],
};

beforeAll(async () => {
  stack = await startStack({ hubs: 2 });
  tmp = agentTempDir();
  cookie = await login(stack.api.url, stack.admin.username, stack.admin.password);
  expect((await apiCall(stack.api.url, cookie, "POST", "/api/teams", { name: "web" })).status).toBe(201);
  const keys = (await request(`${stack.api.url}/api/signing-keys`)).json<{ keys: Array<{ public_key: string }> }>();
  const serverKey = tmp.file("server-key.pub", keys.keys[0]!.public_key);
  let i = 0;
  for (const [name, script] of Object.entries(SCRIPTS)) {
    const res = await apiCall(stack.api.url, cookie, "POST", "/api/hosts", { name, team_id: "web" });
    const { host, token: hostToken } = res.json<{ host: { id: string }; token: string }>();
    const config = tmp.file(
      `${name}.json`,
      JSON.stringify({ labels: { tier: i === 0 ? "canary" : "main" }, commands: { deploy: script } }),
    );
    const agent = spawnAgentProcess([
      ...["--url", stack.hubs[i++ % 2]!.wsUrl, "--token-file", tmp.file(`${name}.token`, `${hostToken}\n`)],
      ...["--config", config, "--server-key", serverKey, "--state-file", path.join(tmp.dir, `${name}.state.json`)],
    ]);
    agents.push(agent);
    await agent.waitForLine(new RegExp(` info registered host_id=${host.id}$`), 30_000);
  }
  // A host of another team the token's owner cannot see: never part of a run.
  await createHost(stack.api.url, cookie, "elsewhere");
  const operator = { username: "deployer", password: "pw-deployer-1234" };
  expect((await apiCall(stack.api.url, cookie, "POST", "/api/users", { ...operator, role: "operator", teams: ["web"] })).status).toBe(201);
  const opCookie = await login(stack.api.url, operator.username, operator.password);
  token = (await apiCall(stack.api.url, opCookie, "POST", "/api/tokens", { name: "ci" })).json<{ token: string }>().token;
}, 120_000);

afterAll(async () => {
  for (const a of agents) a.signal("SIGTERM");
  await Promise.all(agents.map((a) => a.waitForExit(10_000).catch(() => undefined)));
  await stack?.stop();
  tmp?.cleanup();
});

/** Runs the CLI as `npm run tether -- …` does (`node --import tsx scripts/tether.ts …`). */
async function tether(args: string[], env: Record<string, string> = { TETHER_API_TOKEN: token }) {
  const child = spawnOwned(process.execPath, ["--import", "tsx", "scripts/tether.ts", ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", TETHER_API_URL: stack.api.url, ...env },
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  readLines(child.child, (line, stream) => (stream === "stdout" ? stdout : stderr).push(line));
  const exit = await withTimeout(
    child.exited,
    60_000,
    () => `tether ${args.join(" ")} did not exit:\n${[...stdout, ...stderr].join("\n")}`,
  );
  return { code: exit.code, stdout, stderr };
}

test("a run over a team where one of three hosts fails: prefixed output, a summary, exit 1", async () => {
  const res = await tether(["run", "--team", "web", "deploy", "--max-parallel", "2", "--poll-interval", "100", "--timeout", "30s"]);
  expect(res.code).toBe(1);
  // Each host's lines, prefixed with its name (padded to the longest), in its own order.
  for (const name of ["web-1", "web-2", "web-3"]) expect(res.stdout).toContain(`${name} | deploying`);
  expect(res.stdout).toContain("web-1 | done");
  expect(res.stdout).toContain("web-2 | no newline at the end");
  expect(res.stderr).toContain("web-3 | it broke");
  expect(res.stdout.join("\n")).not.toContain("elsewhere");
  const table = res.stdout.slice(res.stdout.findIndex((l) => /^HOST\s+STATUS\s+EXIT$/.test(l)));
  expect(table.slice(1, 4).map((l) => l.split(/\s+/))).toEqual([
    ["web-1", "succeeded", "0"],
    ["web-2", "succeeded", "0"],
    ["web-3", "failed", "3"],
  ]);
  expect(table[4]).toMatch(/^run [0-9a-f-]{36} finished: 3 hosts, 2 succeeded, 1 failed$/);
});

test("every host succeeding (by name and by label) exits 0", async () => {
  const byName = await tether(["run", "--host", "web-1", "--host", "web-2", "deploy", "--poll-interval", "100"]);
  expect([byName.code, byName.stdout.at(-1)]).toEqual([0, expect.stringMatching(/finished: 2 hosts, 2 succeeded$/)]);
  const byLabel = await tether(["run", "--label", "tier=canary", "--team", "web", "deploy", "--quiet", "--poll-interval", "100"]);
  expect(byLabel.code).toBe(0);
  expect(byLabel.stdout.some((l) => l.includes(" | "))).toBe(false);
  expect(byLabel.stdout.at(-1)).toMatch(/finished: 1 hosts, 1 succeeded$/);
});

test("usage errors and refusals exit 2 and say why", async () => {
  // Independent invocations: run side by side.
  const [noTarget, noToken, zero, verb, hidden, bad] = await Promise.all([
    tether(["run", "deploy"]),
    tether(["run", "--team", "web", "deploy"], {}),
    tether(["run", "--team", "web", "deploy", "--max-parallel", "0"]),
    tether(["jump", "--team", "web"]),
    tether(["run", "--host", "elsewhere", "deploy"]),
    tether(["run", "--team", "web", "deploy"], { TETHER_API_TOKEN: "tta_not-a-token" }),
  ]);
  expect([noTarget.code, noTarget.stderr[0]]).toEqual([2, "tether: no target: give --team, --host or --label"]);
  expect([noToken.code, noToken.stderr[0]]).toEqual([2, expect.stringMatching(/^tether: TETHER_API_TOKEN is not set/)]);
  expect([zero.code, zero.stderr[0]]).toEqual([2, expect.stringMatching(/^tether: --max-parallel: /)]);
  expect([verb.code, verb.stderr[0]]).toEqual([2, "tether: unknown subcommand: jump"]);
  // A host of a team the token cannot see is unknown, exactly like one that does not exist.
  expect([hidden.code, hidden.stderr[0]]).toEqual([2, "tether: --host elsewhere: no such host"]);
  expect([bad.code, bad.stderr[0]]).toEqual([2, expect.stringMatching(/^tether: GET \/api\/hosts: 401 /)]);
});
