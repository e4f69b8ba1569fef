/**
 * A load-generator process (forked by the coordinator, bench/lib/generators.ts). It holds the
 * sockets of its role and answers the coordinator's requests over IPC; it exits when the
 * coordinator says so or goes away.
 */
import { Receivers } from "./receivers";
import { OutputSender } from "./sender";
import { Fleet } from "./fleet";
import { IdleSockets } from "./idle-sockets";
import { dispatchRun } from "./dispatch";
import { pollUntil } from "../lib/clock";
import type { OpName, Ops, Reply, Request } from "./protocol";

const receivers = new Receivers();
const sender = new OutputSender();
const fleet = new Fleet();
const idleSockets = new IdleSockets();

type Handlers = { [K in OpName]: (args: Ops[K]["args"]) => Promise<Ops[K]["result"]> };

const handlers: Handlers = {
  openReceivers: async (a) => ({ opened: await receivers.open(a.system, a.url, a.count, a.cookie, a.origin, a.idOrder) }),
  expectStreams: async (a) => ({ streams: receivers.expectStreams(a.group, a.keys) }),
  waitReceived: async (a) => ({ complete: await pollUntil(() => receivers.complete(a.group, a.total), a.timeoutMs) }),
  collect: async (a) => {
    const c = receivers.collect(a.group);
    return { receivers: c.receivers, hist: c.hist.toJSON() };
  },
  onlineSeen: async (a) => {
    await pollUntil(() => receivers.allOnline(a.names), a.timeoutMs);
    return { seenAt: receivers.onlineSeen(a.names) };
  },
  closeReceivers: async () => {
    receivers.closeAll();
    return {};
  },
  openSender: async (a) => {
    await sender.open(a.system, a.url, a.token);
    return {};
  },
  nextCommand: async (a) => ({ commandId: await sender.nextCommand(a.timeoutMs) }),
  stream: (a) => sender.stream(a.key, a.rate, a.count, a.maxBuffered),
  closeSender: async () => {
    sender.close();
    return {};
  },
  fleetConnect: async (a) => {
    const r = await fleet.connect(a.urls, a.tokens, a.names, a.wave, a.reconnect, a.labels);
    return { registered: r.registered, failed: r.failed, timings: a.timings ? r.timings : [] };
  },
  fleetHeartbeat: (a) => fleet.heartbeat(a.periodMs, a.durationMs),
  fleetWaitRegistered: (a) => fleet.waitRegistered(a.since, a.timeoutMs),
  fleetClose: async () => {
    fleet.close();
    return {};
  },
  fleetCommands: (a) => fleet.takeCommands(a.count, a.timeoutMs),
  idleOpen: (a) => idleSockets.open(a.url, a.count, a.wave),
  idleClose: async () => {
    idleSockets.close();
    return {};
  },
  dispatchRun: (a) => dispatchRun(a),
};

function reply(r: Reply): void {
  process.send?.(r);
}

process.on("message", (msg: Request | { op: "exit" }) => {
  if (msg.op === "exit") {
    receivers.closeAll();
    sender.close();
    fleet.close();
    idleSockets.close();
    setTimeout(() => process.exit(0), 50).unref();
    return;
  }
  const req = msg;
  const handler = handlers[req.op] as (args: unknown) => Promise<unknown>;
  handler(req.args).then(
    (result) => reply({ id: req.id, ok: true, result }),
    (err: unknown) => reply({ id: req.id, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  );
});
// The coordinator died or let go: nothing here may outlive it.
process.on("disconnect", () => process.exit(0));
process.send?.({ ready: true });
