/**
 * Issue 7, the load balancer: Debian's nginx running deploy/nginx/tether.conf.template — the file
 * docker-compose.yml mounts — rendered for local ports, in front of two hub processes and the api.
 * Everything below goes through nginx: REST login, an agent and a browser on `/ws`, a command,
 * the spread of sockets over the hubs, and a hub's SIGTERM moving the reference agent to the other.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { startTestRedis, type TestRedis } from "../support/redis";
import { startStack, type Stack } from "../support/processes";
import { freePort } from "../support/ports";
import {
  apiCall,
  connectBrowser,
  connectRegisteredAgent,
  createHost,
  expectUpgradeStatus,
  login,
  request,
  sessionCookieFrom,
} from "../support/clients";
import { NGINX_TEMPLATE, renderTemplate } from "../../deploy/nginx/render";
import { agentTempDir, spawnAgentProcess, type AgentProcess } from "./agent-process";
import { ensureDashboardBuilt } from "../../scripts/dashboard-build";
import { nginxVersion, startNginx, testConfig, type NginxProcess } from "./ops-nginx";
import { scrape } from "./ops-prometheus";

const PING_INTERVAL_MS = 300;

let redis: TestRedis;
let stack: Stack;
let nginx: NginxProcess;
let cookie: string;
let tmp: ReturnType<typeof agentTempDir>;
const agents: AgentProcess[] = [];

beforeAll(async () => {
  ensureDashboardBuilt();
  redis = await startTestRedis();
  // The origin browsers see is nginx's; the services allow exactly that one, as in production.
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  stack = await startStack({
    hubs: 2,
    redis,
    env: { ALLOWED_ORIGINS: origin, TRUST_PROXY: "1", PING_INTERVAL_MS: String(PING_INTERVAL_MS) },
  });
  nginx = await startNginx(port, { hubs: stack.hubs.map((h) => `127.0.0.1:${h.port}`), api: [`127.0.0.1:${stack.api.port}`] });
  cookie = await login(nginx.url, stack.admin.username, stack.admin.password);
  tmp = agentTempDir();
});

afterAll(async () => {
  for (const agent of agents) agent.signal("SIGTERM");
  await Promise.all(agents.map((a) => a.waitForExit().catch(() => undefined)));
  await nginx?.stop();
  await stack?.stop();
  await redis?.stop();
  tmp?.cleanup();
});

/** Agent `register` frames each hub has taken so far: tells which hub an upgrade landed on. */
async function registrations(): Promise<number[]> {
  return Promise.all(
    stack.hubs.map(async (hub) => (await scrape(hub.opsUrl)).sum("tether_frames_in_total", { kind: "agent", type: "register" })),
  );
}

describe("the nginx template", () => {
  test("runs here as rendered for local ports", () => {
    expect(nginx.config).toContain(`listen 127.0.0.1:${nginx.port} default_server;`);
    expect(nginx.config).toContain(
      `server 127.0.0.1:${stack.hubs[0]!.port} max_fails=0; server 127.0.0.1:${stack.hubs[1]!.port} max_fails=0;`,
    );
  });

  test("passes `nginx -t` as docker-compose.yml renders it", () => {
    const compose = parse(readFileSync(path.join(__dirname, "../../docker-compose.yml"), "utf8"), { merge: true }) as {
      services: { lb: { environment: Record<string, string> } };
    };
    const env = { ...compose.services.lb.environment };
    const [major, minor, patch] = nginxVersion();
    if (major * 1_000_000 + minor * 1000 + patch < 1_027_003) {
      // Debian's nginx predates `resolve` and `resolver` in upstream blocks (1.27.3, which the
      // Compose file's image has): check everything else, with the service names made local.
      for (const key of ["TETHER_HUB_SERVERS", "TETHER_API_SERVERS"]) {
        env[key] = env[key]!.replace(/resolver [^;]*;\s*/g, "")
          .replace(/ resolve( [^;]*)?;/g, "$1;")
          .replace(/server [a-z]+:/g, "server 127.0.0.1:");
      }
    }
    const verdict = testConfig(renderTemplate(readFileSync(NGINX_TEMPLATE, "utf8"), env));
    expect(verdict.output).toContain("test is successful");
    expect(verdict.status).toBe(0);
  });
});

describe("REST through nginx", () => {
  test("serves the dashboard and the api, but not the api's /metrics", async () => {
    const page = await request(`${nginx.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toMatch(/^text\/html/);
    expect(page.text).toContain("<tether-app>");
    expect((await request(`${nginx.url}/readyz`)).json()).toEqual({ status: "ready" });
    expect((await request(`${nginx.url}/metrics`)).status).toBe(404);
  });

  test("logs in with nginx's origin; a foreign origin gets 403", async () => {
    const ok = await apiCall(nginx.url, undefined, "POST", "/api/session", stack.admin);
    expect(ok.status).toBe(200);
    expect(sessionCookieFrom(ok)).toMatch(/^tether\.sid=/);
    const foreign = await request(`${nginx.url}/api/session`, {
      method: "POST",
      headers: { Origin: "https://evil.example" },
      body: stack.admin,
    });
    expect(foreign.status).toBe(403);
  });

  test("behind a TLS terminator (X-Forwarded-Proto: https) the session cookie is Secure, and only then", async () => {
    const viaTls = await request(`${nginx.url}/api/session`, {
      method: "POST",
      headers: { Origin: nginx.url, "X-Forwarded-Proto": "https" },
      body: stack.admin,
    });
    expect(viaTls.status).toBe(200);
    const tlsCookie = viaTls.headers["set-cookie"]!.find((c) => c.startsWith("tether.sid="))!;
    expect(tlsCookie).toMatch(/;\s*Secure/i);
    const plain = await apiCall(nginx.url, undefined, "POST", "/api/session", stack.admin);
    expect(plain.headers["set-cookie"]!.find((c) => c.startsWith("tether.sid="))).not.toMatch(/;\s*Secure/i);
  });

  test("the login rate limit sees the client nginx saw: a forged X-Forwarded-For does not reset it", async () => {
    const attempt = (i: number) =>
      request(`${nginx.url}/api/session`, {
        method: "POST",
        headers: { Origin: nginx.url, "X-Forwarded-For": `203.0.113.${i}` },
        body: { username: "mallory", password: "not-the-password" },
      });
    // LOGIN_RATE_LIMIT is 10 a minute per client address and username.
    for (let i = 1; i <= 10; i++) expect((await attempt(i)).status).toBe(401);
    expect((await attempt(11)).status).toBe(429);
  });
});

describe("WebSockets through nginx", () => {
  test("credentials and Origin are checked as without it: 401, 403", async () => {
    expect(await expectUpgradeStatus(nginx.wsUrl, {})).toBe(401);
    expect(await expectUpgradeStatus(nginx.wsUrl, { Cookie: cookie, Origin: "https://evil.example" })).toBe(403);
  });

  test("an agent connects, the browser sees it online, a command round-trips, pings pass, ?after= resumes", async () => {
    const { host, token } = await createHost(nginx.url, cookie, "lb-1");
    const browser = await connectBrowser(nginx.wsUrl, cookie, { origin: nginx.url });
    const snapshot = await browser.next("hosts");
    expect(snapshot.payload.hosts.map((h) => h.id)).toContain(host.id);

    const { agent, hostId } = await connectRegisteredAgent(nginx.wsUrl, token, { hostname: "lb-1.example" });
    expect(hostId).toBe(host.id);
    // Online on connect, then the registration's details.
    const online = await browser.next("host_update", (f) => f.payload.host.id === host.id && f.payload.host.hostname === "lb-1.example");
    expect(online.payload.host.status).toBe("online");

    browser.send({ type: "dispatch", payload: { host_id: host.id, command: "echo", args: ["through nginx"] } });
    const command = await agent.next("command");
    expect(command.payload).toMatchObject({ command: "echo", args: ["through nginx"] });
    const id = command.payload.command_id;
    agent.send({ type: "output", payload: { command_id: id, seq: 0, stream: "stdout", data: "through nginx\n" } });
    agent.send({ type: "command_finished", payload: { command_id: id, exit_code: 0, status: "succeeded" } });
    const out = await browser.next("command_output", (f) => f.payload.command_id === id);
    expect(out.payload).toMatchObject({ seq: 0, stream: "stdout", data: "through nginx\n" });
    const finished = await browser.next("command_finished", (f) => f.payload.command_id === id);
    expect(finished.payload).toMatchObject({ exit_code: 0, status: "succeeded" });

    // The hubs' keepalive pings reach the agent through the proxy, and its pongs go back.
    await new Promise<void>((resolve) => {
      let pings = 0;
      agent.ws.on("ping", () => ++pings === 2 && resolve());
    });

    // The query string survives the proxy: resuming after the snapshot replays events, no snapshot.
    const resumed = await connectBrowser(nginx.wsUrl, cookie, { origin: nginx.url, after: snapshot.id });
    const first = await resumed.next();
    expect(first.type).not.toBe("hosts");
    expect(first.id! > snapshot.id).toBe(true);

    await Promise.all([agent.close(), browser.close(), resumed.close()]);
  });

  test("new sockets are spread over both hubs", async () => {
    const before = await registrations();
    const sockets = [];
    for (let i = 0; i < 4; i++) {
      const { token } = await createHost(nginx.url, cookie, `spread-${i}`);
      sockets.push((await connectRegisteredAgent(nginx.wsUrl, token, { hostname: `spread-${i}` })).agent);
    }
    const after = await registrations();
    const landed = after.map((n, i) => n - before[i]!);
    expect(landed.reduce((a, b) => a + b, 0)).toBe(4);
    for (const n of landed) expect(n).toBeGreaterThanOrEqual(1);
    await Promise.all(sockets.map((s) => s.close()));
  });

  test("SIGTERM of the hub holding the reference agent: it reconnects through nginx to the other hub", async () => {
    const { host, token } = await createHost(nginx.url, cookie, "lb-agent");
    const before = await registrations();
    const agent = spawnAgentProcess([
      "--url",
      nginx.wsUrl,
      "--token-file",
      tmp.file("lb-agent.token", `${token}\n`),
      "--state-file",
      path.join(tmp.dir, "lb-agent.state.json"),
      "--hostname",
      "lb-agent.example",
      "--ping-interval",
      String(PING_INTERVAL_MS),
    ]);
    agents.push(agent);
    await agent.waitForLine(new RegExp(` info registered host_id=${host.id}$`));
    const landed = (await registrations()).map((n, i) => n - before[i]!);
    const holder = landed.indexOf(1);
    expect(landed.filter((n) => n === 1)).toHaveLength(1);
    const other = 1 - holder;

    // Waiting for the second `register` starts before the kill: the agent reconnects within
    // milliseconds of the 1001, often before the hub's exit is awaited, and a wait begun after
    // that would miss the line. 30 s: the hub's 10 s shutdown bound plus 10x the ~1 s reconnect.
    const reRegistered = agent.waitForLine(new RegExp(` info registered host_id=${host.id}$`), 30_000, { fresh: true });
    const exit = await stack.hubs[holder]!.kill("SIGTERM");
    expect(exit).toEqual({ code: 0, signal: null });
    await agent.waitForLine(/ warn disconnected code=1001 /);
    await reRegistered;
    // The killed hub no longer answers; the survivor took the agent's second `register`.
    const survivor = await scrape(stack.hubs[other]!.opsUrl);
    expect(survivor.sum("tether_frames_in_total", { kind: "agent", type: "register" })).toBe(before[other]! + 1);

    const listed = (await apiCall(nginx.url, cookie, "GET", "/api/hosts")).json<{ hosts: { id: string; status: string }[] }>();
    expect(listed.hosts.find((h) => h.id === host.id)?.status).toBe("online");

    agent.signal("SIGTERM");
    expect(await agent.waitForExit()).toEqual({ code: 0, signal: null });
  });

  test("a hub restarted on its port takes new sockets at once: nginx never throttles a hub it saw refuse (max_fails=0)", async () => {
    // The previous test left one hub stopped: its port refuses. Two sockets now make nginx try it
    // (least_conn picks the empty one for the second): refused, so nginx goes to the live hub.
    const down = stack.hubs.findIndex((h) => h.exitInfo !== undefined);
    expect(down).toBeGreaterThanOrEqual(0);
    const held = [];
    for (let i = 0; i < 2; i++) {
      const { token } = await createHost(nginx.url, cookie, `refused-${i}`);
      held.push((await connectRegisteredAgent(nginx.wsUrl, token, { hostname: `refused-${i}` })).agent);
    }
    const port = stack.hubs[down]!.port;
    stack.hubs[down] = await stack.startHub({ PORT: String(port) });
    const before = await registrations();
    // Without max_fails=0 nginx would keep the restarted hub "failed" for fail_timeout (10 s) and
    // then let one socket through per 10 s: these would all go to the other hub.
    for (let i = 0; i < 4; i++) {
      const { token } = await createHost(nginx.url, cookie, `after-restart-${i}`);
      held.push((await connectRegisteredAgent(nginx.wsUrl, token, { hostname: `after-restart-${i}` })).agent);
    }
    const landed = (await registrations()).map((n, i) => n - before[i]!);
    expect(landed[down]).toBeGreaterThanOrEqual(2);
    await Promise.all(held.map((s) => s.close()));
  });
});
