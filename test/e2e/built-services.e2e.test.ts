/**
 * Issue 18 point 5: production runs JavaScript. Builds api, hub and worker with scripts/build.ts
 * (what `npm run build` and the Dockerfile run), starts the built files with plain node
 * (`node --enable-source-maps services/<name>/dist/main.js`, as the image and the manifests do)
 * against a throwaway Redis, and drives them: /readyz, login, an agent online, a command through
 * the worker. Then it starts a hub both ways, built and through tsx, and prints ready time and RSS
 * (figures for the README; only loose bounds asserted, the machine is shared).
 */
import { generateKeyPairSync } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { BUILT_SERVICES, buildServices, builtEntry } from "../../scripts/build";
import { startTestRedis, type TestRedis } from "../support/redis";
import { builtArgs, startService, type ServiceProcess } from "../support/processes";
import { connectAgent, connectBrowser, createHost, login, request } from "../support/clients";

jest.setTimeout(240_000);
const ROOT = path.resolve(__dirname, "../..");

let redis: TestRedis;
// Production requires a signing key for the services that sign (api, hub).
const signingKey = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
const started: ServiceProcess[] = [];
const env = () => ({
  REDIS_URL: redis.url,
  REDIS_PREFIX: redis.prefix,
  SESSION_SECRET: "s".repeat(64),
  ADMIN_USER: "admin",
  ADMIN_PASSWORD: "built-and-ready",
  NODE_ENV: "production",
  COMMAND_SIGNING_KEY: signingKey,
});

beforeAll(async () => {
  redis = await startTestRedis();
  await buildServices();
});
afterAll(async () => {
  await Promise.all(started.map((s) => s.stop()));
  await redis?.stop();
});

/** VmRSS of a process, MiB. */
const rssMiB = (pid: number): number => Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;

async function timedStart(kind: "api" | "hub" | "worker", nodeArgs?: string[]): Promise<{ service: ServiceProcess; readyMs: number }> {
  const t0 = performance.now();
  const service = await startService(kind, env(), { nodeArgs, readyTimeoutMs: 90_000 });
  const readyMs = performance.now() - t0;
  started.push(service);
  return { service, readyMs };
}

test("each bundle keeps node_modules external, bundles the workspaces, and has a source map of the TypeScript", () => {
  for (const name of BUILT_SERVICES) {
    const js = readFileSync(path.join(ROOT, builtEntry(name)), "utf8");
    expect(js).not.toMatch(/require\("@tether\//);
    expect(js).toMatch(/require\("ioredis"\)/);
    expect(js).toContain(`//# sourceMappingURL=main.js.map`);
    const map = JSON.parse(readFileSync(path.join(ROOT, `${builtEntry(name)}.map`), "utf8")) as { sources: string[] };
    expect(map.sources).toEqual(expect.arrayContaining([`../src/main.ts`, expect.stringMatching(/packages\/core\/src\/service\.ts$/)]));
    // The Lua scripts are read from beside main.js (packages/core/src/lua/scripts.ts); the run below uses them.
    const lua = readdirSync(path.join(ROOT, "packages/core/src/lua")).filter((f) => f.endsWith(".lua"));
    expect(readdirSync(path.join(ROOT, path.dirname(builtEntry(name))))).toEqual(expect.arrayContaining(lua));
  }
});

test("built api, hub and worker run with plain node: ready, an agent online, a command delivered", async () => {
  const [api, hub, worker] = await Promise.all(BUILT_SERVICES.map((name) => timedStart(name, builtArgs(name))));
  for (const s of [api!, hub!, worker!]) {
    const ready = await request(`${s.service.url}/readyz`);
    expect({ status: ready.status, body: ready.text }).toEqual({ status: 200, body: JSON.stringify({ status: "ready" }) });
  }
  const cookie = await login(api!.service.url, "admin", "built-and-ready");
  const browser = await connectBrowser(hub!.service.wsUrl, cookie, { origin: hub!.service.url });
  await browser.next((f) => f.type === "hosts");
  const { host, token } = await createHost(api!.service.url, cookie, "built-1");
  const agent = await connectAgent(hub!.service.wsUrl, token);
  agent.send({ type: "register", payload: { hostname: "built-1" } });
  await browser.next((f) => f.type === "host_update" && f.payload.host.id === host.id && f.payload.host.status === "online");
  const res = await request(`${api!.service.url}/api/hosts/${host.id}/commands`, {
    method: "POST",
    headers: { cookie, origin: api!.service.url, "content-type": "application/json" },
    body: JSON.stringify({ command: "uptime" }),
  });
  expect(res.status).toBe(202);
  expect((await agent.next((f) => f.type === "command")).payload).toMatchObject({ command: "uptime" });
  await agent.close();
  await browser.close();
  // The api serves the dashboard from the same place built or not (web/dist, from dist/'s __dirname).
  expect((await request(`${api!.service.url}/`)).status).toBe(200);
  process.stderr.write(
    `[built-services] RSS after this exercise: ${[api!, hub!, worker!].map((s) => `${s.service.kind} ${rssMiB(s.service.pid).toFixed(1)} MiB`).join(", ")}\n`,
  );
});

test("a built hub against one through tsx: ready time and RSS (printed)", async () => {
  const rounds = 3;
  const figures: Record<"built" | "tsx", { readyMs: number[]; rss: number[] }> = {
    built: { readyMs: [], rss: [] },
    tsx: { readyMs: [], rss: [] },
  };
  // Alternating, one at a time, so both see the same machine.
  for (let i = 0; i < rounds; i++) {
    for (const mode of ["built", "tsx"] as const) {
      const { service, readyMs } = await timedStart("hub", mode === "built" ? builtArgs("hub") : undefined);
      figures[mode].readyMs.push(readyMs);
      figures[mode].rss.push(rssMiB(service.pid));
      await service.stop();
    }
  }
  const fmt = (xs: number[], unit: string) => xs.map((x) => `${x.toFixed(unit === "ms" ? 0 : 1)} ${unit}`).join(", ");
  process.stderr.write(
    `[built-services] hub ready (spawn → /readyz 200) and RSS after ready, ${rounds} rounds:\n` +
      `  built: ${fmt(figures.built.readyMs, "ms")} | ${fmt(figures.built.rss, "MiB")}\n` +
      `  tsx:   ${fmt(figures.tsx.readyMs, "ms")} | ${fmt(figures.tsx.rss, "MiB")}\n`,
  );
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  // Loose: the built hub loads no compiler, so it never needs more memory than the tsx one.
  expect(median(figures.built.rss)).toBeLessThan(median(figures.tsx.rss));
});
