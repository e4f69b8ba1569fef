/**
 * Issue 7, metrics: after real traffic (an agent on hub A, a browser on hub B, a command with
 * output, the agent leaving and its host going offline), every process's `/metrics` is Prometheus
 * text with the series an operator needs, counting what happened.
 */
import { startTestRedis, type TestRedis } from "../support/redis";
import { startStack, type Stack } from "../support/processes";
import { connectBrowser, connectRegisteredAgent, createHost, login } from "../support/clients";
import { scrape, type Scrape } from "./ops-prometheus";

let redis: TestRedis;
let stack: Stack;

beforeAll(async () => {
  redis = await startTestRedis();
  stack = await startStack({ hubs: 2, redis, env: { OFFLINE_TIMEOUT_MS: "500" } });
});

afterAll(async () => {
  await stack?.stop();
  await redis?.stop();
});

/** Every sample of every `tether_*` family carries the process's `service` and `node` labels. */
function expectLabelled(metrics: Scrape, service: string): void {
  const ours = metrics.samples.filter((s) => s.name.startsWith("tether_"));
  expect(ours.length).toBeGreaterThan(0);
  for (const s of ours) expect(s.labels).toMatchObject({ service, node: expect.any(String) });
}

test("api, hubs and worker expose what happened, in Prometheus text format", async () => {
  const [hubA, hubB] = stack.hubs as [Stack["hubs"][number], Stack["hubs"][number]];
  const cookie = await login(stack.api.url, stack.admin.username, stack.admin.password);
  const { host, token } = await createHost(stack.api.url, cookie, "metered");
  const browser = await connectBrowser(hubB.wsUrl, cookie, { origin: stack.origin });
  await browser.next("hosts");
  const { agent } = await connectRegisteredAgent(hubA.wsUrl, token, { hostname: "metered" });
  agent.send({ type: "heartbeat", payload: { metrics: { load1: 0.1 } } });
  browser.send({ type: "dispatch", payload: { host_id: host.id, command: "uptime" } });
  const command = await agent.next("command");
  const id = command.payload.command_id;
  agent.send({ type: "output", payload: { command_id: id, seq: 0, stream: "stdout", data: "up 1 day\n" } });
  agent.send({ type: "output", payload: { command_id: id, seq: 1, stream: "stderr", data: "warning\n" } });
  agent.send({ type: "command_finished", payload: { command_id: id, exit_code: 0, status: "succeeded" } });
  await browser.next("command_finished", (f) => f.payload.command_id === id);

  // While the agent and the browser are connected: the hubs.
  const a = await scrape(hubA.opsUrl);
  const b = await scrape(hubB.opsUrl);
  for (const m of [a, b]) {
    expect(m.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(m.types.get("tether_sockets")).toBe("gauge");
    expect(m.types.get("tether_frames_in_total")).toBe("counter");
    expect(m.types.get("tether_frames_out_total")).toBe("counter");
    expect(m.types.get("tether_event_append_seconds")).toBe("histogram");
    expect(m.types.get("tether_relay_lag_seconds")).toBe("histogram");
    expect(m.find("process_cpu_user_seconds_total")).toHaveLength(1);
    expectLabelled(m, "hub");
  }
  expect(a.sum("tether_sockets", { kind: "agent" })).toBe(1);
  expect(b.sum("tether_sockets", { kind: "browser" })).toBe(1);
  for (const type of ["register", "heartbeat", "command_finished"]) {
    expect({ type, n: a.sum("tether_frames_in_total", { kind: "agent", type }) }).toEqual({ type, n: 1 });
  }
  expect(a.sum("tether_frames_in_total", { kind: "agent", type: "output" })).toBe(2);
  expect(a.sum("tether_frames_out_total", { kind: "agent", type: "registered" })).toBe(1);
  expect(a.sum("tether_frames_out_total", { kind: "agent", type: "command" })).toBe(1);
  expect(b.sum("tether_frames_in_total", { kind: "browser", type: "dispatch" })).toBe(1);
  expect(b.sum("tether_frames_out_total", { kind: "browser", type: "command_output" })).toBe(2);
  expect(b.sum("tether_frames_out_total", { kind: "browser", type: "command_finished" })).toBe(1);
  // Online with the registration (one event), then the heartbeat.
  expect(b.sum("tether_frames_out_total", { kind: "browser", type: "host_update" })).toBeGreaterThanOrEqual(2);
  // Hub A appended the agent's events (online + registration, heartbeat, the command's start, its
  // output run, its finish); hub B relayed them to its browser, each message observed once.
  expect(a.sum("tether_event_append_seconds_count")).toBeGreaterThanOrEqual(5);
  expect(b.sum("tether_relay_lag_seconds_count")).toBeGreaterThanOrEqual(5);
  expect(b.find("tether_relay_lag_seconds_bucket", { le: "+Inf" })[0]?.value).toBe(b.sum("tether_relay_lag_seconds_count"));

  // The agent leaves; after OFFLINE_TIMEOUT_MS the worker's check turns its host offline.
  await agent.close();
  await browser.next("host_update", (f) => f.payload.host.id === host.id && f.payload.host.status === "offline", 10_000);

  const worker = await scrape(stack.worker.opsUrl);
  expect(worker.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  expect(worker.types.get("tether_queue_depth")).toBe("gauge");
  expect(worker.types.get("tether_offline_checks_total")).toBe("counter");
  expect(worker.sum("tether_offline_checks_total", { result: "offline" })).toBe(1);
  for (const queue of ["presence", "commands"]) {
    // Refreshed on each scrape: waiting, delayed and active jobs (the sweep's next run at least).
    expect(worker.find("tether_queue_depth", { queue })).toHaveLength(1);
  }
  expect(worker.sum("tether_queue_depth", { queue: "presence" })).toBeGreaterThanOrEqual(1);
  expectLabelled(worker, "worker");

  const api = await scrape(stack.api.opsUrl);
  expect(api.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  // The api appended the host's creation and the command's events.
  expect(api.sum("tether_event_append_seconds_count")).toBeGreaterThanOrEqual(1);
  expectLabelled(api, "api");

  await browser.close();
});
