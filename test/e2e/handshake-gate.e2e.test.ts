/**
 * Admission control on a hub (MAX_PENDING_HANDSHAKES): handshakes past the limit wait their
 * turn and then succeed; past ten times the limit waiting, the surplus gets 503 + Retry-After.
 */
import WebSocket from "ws";
import { createHost, login, request } from "../support/clients";
import { startStack, type Stack } from "../support/processes";

let stack: Stack;
let cookie: string;

beforeAll(async () => {
  stack = await startStack({ hubs: 1, env: { MAX_PENDING_HANDSHAKES: "1" } });
  cookie = await login(stack.api.url, stack.admin.username, stack.admin.password);
});
afterAll(() => stack?.stop());

async function waitingGauge(): Promise<number> {
  const text = (await request(`${stack.hubs[0]!.opsUrl}/metrics`)).text;
  return Number(/^tether_handshakes_waiting\{[^}]*\} (\d+)/m.exec(text)?.[1] ?? -1);
}

/** Polls `check` (a /metrics scrape) every 10 ms until it holds; fails after 5 s. */
async function until(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("the hub never counted ten handshakes waiting");
    await new Promise((r) => setTimeout(r, 10));
  }
}

type Outcome = { open: true; ws: WebSocket; at: number } | { open: false; status: number; retryAfter: string | undefined };

/** Dial as an agent that stays silent (its handshake holds the slot until the 250 ms grace). */
function dial(token: string): Promise<Outcome> {
  const ws = new WebSocket(stack.hubs[0]!.wsUrl, { headers: { Authorization: `Bearer ${token}` } });
  return new Promise((resolve, reject) => {
    ws.once("open", () => resolve({ open: true, ws, at: Date.now() }));
    ws.once("unexpected-response", (_req, res) => {
      resolve({ open: false, status: res.statusCode ?? 0, retryAfter: res.headers["retry-after"] });
      res.resume();
      ws.terminate();
    });
    ws.once("error", reject);
  });
}

test("one slot: the next ten wait and are let in one by one; a twelfth is told 503, retry after 1 s", async () => {
  const hosts = await Promise.all(Array.from({ length: 12 }, (_, i) => createHost(stack.api.url, cookie, `gate-${i}`)));
  const first = await dial(hosts[0]!.token);
  expect(first.open).toBe(true);
  // The first holds the only slot (silent: it goes online after the 250 ms grace); ten wait.
  const waiting = hosts.slice(1, 11).map((h) => dial(h.token));
  // Dialled once the hub counts ten waiting, so it finds the queue full.
  await until(async () => (await waitingGauge()) === 10);
  const refused = await dial(hosts[11]!.token);
  expect(refused).toEqual({ open: false, status: 503, retryAfter: "1" });
  const admitted = await Promise.all(waiting);
  expect(admitted.every((o) => o.open)).toBe(true);
  // One at a time: each waited for the one before it to go online (≥ 250 ms each, silent).
  const times = admitted.map((o) => (o.open ? o.at : 0)).sort((a, b) => a - b);
  expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(8 * 250);
  for (const o of [first, ...admitted]) if (o.open) o.ws.close();
});
