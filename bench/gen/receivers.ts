/**
 * Receiving sockets ("browsers") for the three systems. Each records, per stream, which seqs
 * arrived (delivery check) and, per group, the latency of every frame: receive time minus the
 * send time the sender embedded in the frame.
 */
import WebSocket from "ws";
import { io, type Socket } from "socket.io-client";
import { SeqState, totalsOf, type ReceiverTotals } from "../lib/delivery";
import { Histogram } from "../lib/hist";
import { now } from "../lib/clock";
import type { System } from "./protocol";

/** The output payload every system carries: `data` starts with the send time (`<ms>:`). */
interface OutputPayload {
  command_id: string;
  seq: number;
  data: string;
}

interface HostPayload {
  id: string;
  status: string;
  hostname?: string;
  metrics?: { hb?: number; t?: number };
}

/**
 * The fields of an output frame (bare: the agent's `output`; Tether: `command_output`), read
 * without JSON.parse. Both put `command_id`, `seq` and `data` in that order, ids are UUIDs or
 * `k<n>`, and `data` starts with the send time; anything else returns null and is parsed in full.
 */
export function peekOutput(text: string): { id: string | undefined; key: string; seq: number; sentAt: number } | null {
  if (!text.startsWith('{"type":"output"') && !text.startsWith('{"type":"command_output"')) return null;
  const idAt = text.indexOf('"id":"');
  const keyAt = text.indexOf('"command_id":"');
  const seqAt = text.indexOf('"seq":', keyAt);
  const dataAt = text.indexOf('"data":"', seqAt);
  if (keyAt < 0 || seqAt < 0 || dataAt < 0) return null;
  const id = idAt >= 0 && idAt < keyAt ? text.slice(idAt + 6, text.indexOf('"', idAt + 6)) : undefined;
  const key = text.slice(keyAt + 14, text.indexOf('"', keyAt + 14));
  return {
    id,
    key,
    seq: Number.parseInt(text.slice(seqAt + 6, seqAt + 26), 10),
    sentAt: Number.parseFloat(text.slice(dataAt + 8, dataAt + 40)),
  };
}

/**
 * A heartbeat's `host_update` (the fleet scenario's bulk), read without JSON.parse: the event
 * id comes first, then `"payload":{"host":{"id":"…"` and the agent's metrics `{"hb":n,"t":ms}`.
 * Anything else returns null and is parsed in full.
 */
export function peekHeartbeat(text: string): { id: string; hostId: string; hb: number; t: number } | null {
  if (!text.startsWith('{"type":"host_update","id":"')) return null;
  const hostAt = text.indexOf('"payload":{"host":{"id":"');
  const hbAt = text.indexOf('"metrics":{"hb":', hostAt);
  const tAt = text.indexOf(',"t":', hbAt);
  if (hostAt < 0 || hbAt < 0 || tAt < 0) return null;
  const id = text.slice(28, text.indexOf('"', 28));
  const hostId = text.slice(hostAt + 25, text.indexOf('"', hostAt + 25));
  return { id, hostId, hb: Number.parseInt(text.slice(hbAt + 16, tAt), 10), t: Number.parseFloat(text.slice(tAt + 5, tAt + 40)) };
}

/** Group name of heartbeat-driven host updates; output frames are grouped by command id. */
export const HEARTBEAT_GROUP = "hb";

/**
 * How a Tether receiver checks event ids: `global`, every id above the one before (one partition:
 * one log); `host`, per host only (CONTRACT §7: with partitions, ids keep each host's events in
 * order, not across hosts) — output frames per command, heartbeats per host, other frames by the
 * host they name (frames naming none are not checked).
 */
export type IdOrder = "global" | "host";

class Receiver {
  /** group → stream key → state. */
  readonly groups = new Map<string, Map<string, SeqState>>();
  lastId = "";
  /** `host` order: the last id per host (or command). */
  readonly lastIds = new Map<string, string>();
  idOrderErrors = 0;
  /** hostname → receive time of its first online host_update with that hostname. */
  readonly online = new Map<string, number>();
  close: () => void = () => undefined;

  checkId(id: string, orderKey: string | undefined, order: IdOrder): void {
    if (order === "global") {
      if (id <= this.lastId) this.idOrderErrors += 1;
      else this.lastId = id;
      return;
    }
    if (orderKey === undefined) return;
    const last = this.lastIds.get(orderKey);
    if (last !== undefined && id <= last) this.idOrderErrors += 1;
    else this.lastIds.set(orderKey, id);
  }

  /** Make the state of these streams of `group` now (see Receivers.expectStreams). */
  expect(group: string, keys: readonly string[]): void {
    let streams = this.groups.get(group);
    if (!streams) this.groups.set(group, (streams = new Map()));
    for (const key of keys) if (!streams.has(key)) streams.set(key, new SeqState());
  }

  record(group: string, key: string, seq: number, sentAt: number, hists: Map<string, Histogram>): void {
    const t = now();
    let streams = this.groups.get(group);
    if (!streams) this.groups.set(group, (streams = new Map()));
    let state = streams.get(key);
    if (!state) streams.set(key, (state = new SeqState()));
    state.add(seq, sentAt, t);
    let hist = hists.get(group);
    if (!hist) hists.set(group, (hist = new Histogram()));
    hist.record(t - sentAt);
  }

  totals(group: string): ReceiverTotals {
    return totalsOf(this.groups.get(group)?.values() ?? [], this.idOrderErrors);
  }
}

export class Receivers {
  private readonly all: Receiver[] = [];
  private readonly hists = new Map<string, Histogram>();

  async open(system: System, url: string, count: number, cookie?: string, origin?: string, idOrder: IdOrder = "global"): Promise<number> {
    const opening: Array<Promise<void>> = [];
    for (let i = 0; i < count; i++) {
      const r = new Receiver();
      this.all.push(r);
      opening.push(system === "sio" ? this.openSio(r, url) : this.openWs(r, system, url, cookie, origin, idOrder));
    }
    await Promise.all(opening);
    return count;
  }

  private openWs(r: Receiver, system: System, url: string, cookie?: string, origin?: string, idOrder: IdOrder = "global"): Promise<void> {
    const headers: Record<string, string> = {};
    if (cookie) headers.Cookie = cookie;
    if (origin) headers.Origin = origin;
    const ws = new WebSocket(system === "bare" ? `${url}?role=browser` : url, { headers, perMessageDeflate: false });
    let closing = false;
    r.close = () => {
      closing = true;
      ws.terminate();
    };
    return new Promise((resolve, reject) => {
      ws.on("error", (err) => reject(err));
      ws.on("close", (code, reason) => {
        reject(new Error(`receiver closed before it was ready (${code})`));
        // Said here so a delivery failure comes with its cause (e.g. 1013 slow consumer).
        if (!closing) process.stderr.write(`receiver ${url} closed by the server: ${code} ${reason.toString()}\n`);
      });
      if (system === "bare") ws.once("open", () => resolve());
      ws.on("message", (data) => {
        const text = data.toString();
        // Output frames take a fast path (they are most of the traffic, and this process must not
        // become the bottleneck it measures); everything else is parsed in full.
        const out = peekOutput(text);
        const beat = out ? null : peekHeartbeat(text);
        const frame = out || beat ? undefined : (JSON.parse(text) as { type: string; id?: string; payload: Record<string, unknown> });
        const eventId = out ? out.id : beat ? beat.id : frame?.id;
        if (system === "tether" && eventId !== undefined) {
          const named = frame?.payload as { host?: { id?: string }; host_id?: string; command_id?: string } | undefined;
          r.checkId(eventId, out ? out.key : beat ? beat.hostId : (named?.host?.id ?? named?.host_id ?? named?.command_id), idOrder);
        }
        if (out) r.record(out.key, out.key, out.seq, out.sentAt, this.hists);
        else if (beat) r.record(HEARTBEAT_GROUP, beat.hostId, beat.hb, beat.t, this.hists);
        else if (frame) {
          if (frame.type === "hosts") resolve();
          this.onFrame(r, frame.type, frame.payload);
        }
      });
    });
  }

  private openSio(r: Receiver, url: string): Promise<void> {
    const socket: Socket = io(url, { transports: ["websocket"], auth: { role: "browser" }, reconnection: false, forceNew: true });
    r.close = () => socket.disconnect();
    socket.on("output", (p: OutputPayload) => this.onFrame(r, "output", p as unknown as Record<string, unknown>));
    return new Promise((resolve, reject) => {
      // The server joins the room on connection and then acks with "ready" (no race with the first frame).
      socket.once("ready", () => resolve());
      socket.once("connect_error", (err) => reject(err));
    });
  }

  private onFrame(r: Receiver, type: string, payload: Record<string, unknown>): void {
    if (type === "output" || type === "command_output") {
      const p = payload as unknown as OutputPayload;
      r.record(p.command_id, p.command_id, p.seq, Number.parseFloat(p.data), this.hists);
    } else if (type === "host_update") {
      const host = payload.host as HostPayload;
      const hb = host.metrics?.hb;
      if (hb !== undefined && host.metrics?.t !== undefined) r.record(HEARTBEAT_GROUP, host.id, hb, host.metrics.t, this.hists);
      if (host.status === "online" && host.hostname !== undefined && !r.online.has(host.hostname)) r.online.set(host.hostname, now());
    }
  }

  /**
   * Each receiver's state for these streams, made before the measured phase. Made lazily, at each
   * stream's first frame, 25 receivers × 2,000 heartbeating hosts are 50,000 new long-lived
   * objects (each keyed by a slice that keeps its whole frame's text alive) in this process within
   * the phase's first 2 s: scavenges of 10–44 ms each, every ~200 ms, which held up the frames
   * waiting to be read and were counted as Tether's latency (issue 15.3, see bench/RESULTS.md).
   */
  expectStreams(group: string, keys: readonly string[]): number {
    for (const r of this.all) r.expect(group, keys);
    return this.all.length * keys.length;
  }

  complete(group: string, total: number): boolean {
    return this.all.every((r) => r.totals(group).unique >= total);
  }

  collect(group: string): { receivers: ReceiverTotals[]; hist: Histogram } {
    return { receivers: this.all.map((r) => r.totals(group)), hist: this.hists.get(group) ?? new Histogram() };
  }

  onlineSeen(names: readonly string[]): Record<string, number> {
    const seen: Record<string, number> = {};
    const first = this.all[0];
    for (const name of names) {
      const t = first?.online.get(name);
      if (t !== undefined) seen[name] = t;
    }
    return seen;
  }

  allOnline(names: readonly string[]): boolean {
    const first = this.all[0];
    return first !== undefined && names.every((n) => first.online.has(n));
  }

  closeAll(): void {
    for (const r of this.all.splice(0)) r.close();
    this.hists.clear();
  }
}
