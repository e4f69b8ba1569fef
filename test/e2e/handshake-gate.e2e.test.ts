/**
 * Admission control on a hub (MAX_PENDING_HANDSHAKES): handshakes past the limit wait their
 * turn and then succeed; past ten times the limit waiting, the surplus gets 503 + Retry-After.
 */
import WebSocket from "ws";
import { createHost, login, request } from "../support/clients";
import { startStack, type Stack } from "../support/processes";

let stack: Stack;
let cookie: string;
/**
 * A silent agent holds its slot this long: long enough that ten dials surely queue behind it on a
 * loaded machine (at the default 250 ms they sometimes did not, and the slot moved on first).
 */
const GRACE_MS = 3000;

beforeAll(async () => {
  stack = await startStack({ hubs: 1, env: { MAX_PENDING_HANDSHAKES: "1", REGISTER_GRACE_MS: String(GRACE_MS) } });
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

/**
 * Dial as an agent. A silent one holds its slot until the grace ends; one that registers on open
 * gives it up as soon as its host is online, as a real agent does.
 */
function dial(token: string, register = false): Promise<Outcome> {
  const ws = new WebSocket(stack.hubs[0]!.wsUrl, { headers: { Authorization: `Bearer ${token}` } });
  return new Promise((resolve, reject) => {
    ws.once("open", () => {
      if (register) ws.send(JSON.stringify({ type: "register", payload: { hostname: "gate" } }));
      resolve({ open: true, ws, at: Date.now() });
    });
    ws.once("unexpected-response", (_req, res) => {
      resolve({ open: false, status: res.statusCode ?? 0, retryAfter: res.headers["retry-after"] });
      res.resume();
      ws.terminate();
    });
    ws.once("error", reject);
  });
}

test("one slot: the next ten wait their turn and are all let in; a twelfth is told 503, retry after 1 s", async () => {
  const hosts = await Promise.all(Array.from({ length: 12 }, (_, i) => createHost(stack.api.url, cookie, `gate-${i}`)));
  const first = await dial(hosts[0]!.token);
  expect(first.open).toBe(true);
  // The first holds the only slot (silent: it goes online after the grace); ten wait.
  const waiting = hosts.slice(1, 11).map((h) => dial(h.token, true));
  // Dialled once the hub counts ten waiting, so it finds the queue full.
  await until(async () => (await waitingGauge()) === 10);
  const refused = await dial(hosts[11]!.token);
  expect(refused).toEqual({ open: false, status: 503, retryAfter: "1" });
  const admitted = await Promise.all(waiting);
  expect(admitted.every((o) => o.open)).toBe(true);
  // None was let in before the silent first one's grace was over and its host online.
  const times = admitted.map((o) => (o.open ? o.at : 0)).sort((a, b) => a - b);
  expect(times[0]! - (first.open ? first.at : 0)).toBeGreaterThanOrEqual(GRACE_MS - 50);
  for (const o of [first, ...admitted]) if (o.open) o.ws.close();
});
