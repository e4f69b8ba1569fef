import { connectBrowser, connectRegisteredAgent, createHost, expectUpgradeStatus, login } from "./clients";
import { startStack, type Stack } from "./processes";

// Harness self-test on real processes: a stack comes up, clients on different hubs see each
// other's events through Redis, and stop() ends every process it started.
describe("startStack", () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ hubs: 2 });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  test("an agent on hub 1 shows up online for a browser on hub 2", async () => {
    const cookie = await login(stack.api.url, stack.admin.username, stack.admin.password);
    expect(cookie).toMatch(/^tether\.sid=/);
    const { host, token } = await createHost(stack.api.url, cookie, "web-1");

    expect(await expectUpgradeStatus(stack.hubs[1]!.wsUrl, { Origin: stack.origin })).toBe(401);
    const browser = await connectBrowser(stack.hubs[1]!.wsUrl, cookie, { origin: stack.origin });
    const hosts = await browser.next("hosts");
    expect(hosts.payload.hosts.map((h) => h.id)).toContain(host.id);

    const { agent, hostId } = await connectRegisteredAgent(stack.hubs[0]!.wsUrl, token, { hostname: "web-1.example" });
    expect(hostId).toBe(host.id);
    const online = await browser.next("host_update", (f) => f.payload.host.id === host.id && f.payload.host.status === "online");
    expect(online.id).toEqual(expect.any(String));

    await agent.close();
    await browser.close();
  });

  test("stop() SIGTERMs every process and each exits cleanly", async () => {
    const processes = [stack.api, ...stack.hubs, stack.worker];
    await stack.stop();
    for (const p of processes) {
      expect({ name: p.name, exit: p.exitInfo }).toEqual({ name: p.name, exit: { code: 0, signal: null } });
      expect(() => process.kill(p.pid, 0)).toThrow();
    }
  });
});
