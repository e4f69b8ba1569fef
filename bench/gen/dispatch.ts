/**
 * `dispatch`: a browser on one hub sends `dispatch`, the agent on the other hub gets `command`
 * (through the api-less path: hub → BullMQ → worker → hub). Sequential, so each figure is one
 * command's latency, not a queue's.
 */
import WebSocket from "ws";
import { now } from "../lib/clock";
import { Histogram } from "../lib/hist";
import type { Ops } from "./protocol";

type Args = Ops["dispatchRun"]["args"];
type Result = Ops["dispatchRun"]["result"];

function open(
  url: string,
  headers: Record<string, string>,
  readyType: string,
  onFrame: (f: { type: string; payload: Record<string, unknown> }, ws: WebSocket) => void,
  hello?: string,
): Promise<WebSocket> {
  const ws = new WebSocket(url, { headers, perMessageDeflate: false });
  return new Promise((resolve, reject) => {
    ws.on("error", reject);
    ws.on("open", () => hello && ws.send(hello));
    ws.on("message", (data) => {
      const frame = JSON.parse(data.toString()) as { type: string; payload: Record<string, unknown> };
      if (frame.type === readyType) resolve(ws);
      onFrame(frame, ws);
    });
    ws.once("close", (code) => reject(new Error(`${readyType} socket closed (${code}) before it was ready`)));
  });
}

export async function dispatchRun(a: Args): Promise<Result> {
  const hist = new Histogram();
  const seen = new Set<string>();
  let duplicates = 0;
  let reordered = 0;
  let waiter: ((id: string) => void) | undefined;
  const queuedIds: string[] = [];
  const agent = await open(
    a.agentUrl,
    { Authorization: `Bearer ${a.token}` },
    "registered",
    (f, ws) => {
      if (f.type !== "command") return;
      const id = String(f.payload.command_id);
      if (seen.has(id)) duplicates += 1;
      seen.add(id);
      ws.send(JSON.stringify({ type: "command_finished", payload: { command_id: id, exit_code: 0 } }));
      waiter?.(id);
    },
    JSON.stringify({ type: "register", payload: { hostname: "bench-dispatch" } }),
  );
  const browser = await open(a.browserUrl, { Cookie: a.cookie, Origin: a.origin }, "hosts", (f) => {
    if (f.type === "command_queued") queuedIds.push(String((f.payload.command as { id: string }).id));
    if (f.type === "error") process.stderr.write(`[dispatch] hub error ${JSON.stringify(f.payload)}\n`);
  });
  let received = 0;
  let sent = 0;
  try {
    for (let i = 0; i < a.count; i++) {
      const got = new Promise<string | null>((resolve) => {
        const timer = setTimeout(() => resolve(null), a.timeoutMs);
        waiter = (id) => {
          clearTimeout(timer);
          resolve(id);
        };
      });
      const t0 = now();
      browser.send(JSON.stringify({ type: "dispatch", payload: { host_id: a.hostId, command: "true", args: [String(i)] } }));
      sent += 1;
      const id = await got;
      if (id === null) continue;
      hist.record(now() - t0);
      received += 1;
    }
  } finally {
    waiter = undefined;
    agent.terminate();
    browser.terminate();
  }
  // Commands reach the agent in dispatch order: compare with the order the browser saw them queued.
  const order = [...seen];
  for (let i = 0; i < order.length; i++) if (queuedIds[i] !== undefined && order[i] !== queuedIds[i]) reordered += 1;
  return { hist: hist.toJSON(), sent, received, duplicates, reordered };
}
