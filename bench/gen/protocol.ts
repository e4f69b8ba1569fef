/**
 * The coordinator ↔ generator IPC protocol. A generator is a forked process holding many
 * sockets of one role (browsers, an output agent, a fleet of agents); the coordinator sends it
 * one request at a time per operation and gets a reply with the same id.
 */
import type { ReceiverTotals } from "../lib/delivery";
import type { HistogramData } from "../lib/hist";

/** Which relay a socket talks to: Tether's hubs, the bare ws+Redis relay, or Socket.IO. */
export type System = "tether" | "bare" | "sio";

/** Per agent of a fleet: when it dialled, sent `register`, and got `registered` (bench clock, ms). */
export interface AgentTiming {
  name: string;
  dialAt: number;
  regSentAt: number;
  registeredAt: number;
}

/** Every operation: its arguments and its result. */
export interface Ops {
  /** Open `count` receiving sockets (browsers); resolves once all are open (Tether: got `hosts`). */
  openReceivers: {
    /** `idOrder` (Tether): `host` on a partitioned log (see receivers.ts IdOrder); default `global`. */
    args: { system: System; url: string; count: number; cookie?: string; origin?: string; idOrder?: "global" | "host" };
    result: { opened: number };
  };
  /**
   * Make every receiver's state for these streams of `group` now, before the measured phase (the
   * heartbeat scenarios: one per host), so the receivers do not allocate it while they measure.
   */
  expectStreams: { args: { group: string; keys: string[] }; result: { streams: number } };
  /** Wait until every receiver has `total` distinct frames in `group` (or the timeout). */
  waitReceived: { args: { group: string; total: number; timeoutMs: number }; result: { complete: boolean } };
  /** Per-receiver delivery totals and the merged latency histogram of a group. */
  collect: { args: { group: string }; result: { receivers: ReceiverTotals[]; hist: HistogramData } };
  /** Receive time of the first `host_update` (online, with that hostname) per hostname, at receiver 0. */
  onlineSeen: { args: { names: string[]; timeoutMs: number }; result: { seenAt: Record<string, number> } };
  closeReceivers: { args: Record<string, never>; result: Record<string, never> };

  /** Connect the output agent (Tether: register and await `registered`). */
  openSender: { args: { system: System; url: string; token?: string }; result: Record<string, never> };
  /** The next `command` frame the Tether output agent got. */
  nextCommand: { args: { timeoutMs: number }; result: { commandId: string } };
  /**
   * Stream `count` output frames of `key` (seq from 0): `rate` frames/s paced in small batches,
   * or 0 = as fast as it goes with the socket's buffer kept under `maxBuffered` bytes.
   */
  stream: {
    args: { key: string; rate: number; count: number; maxBuffered: number };
    result: { sent: number; firstAt: number; lastAt: number };
  };
  closeSender: { args: Record<string, never>; result: Record<string, never> };

  /**
   * Connect Tether agents (tokens[i] registers as names[i]) in waves of `wave`, each wave awaited.
   * With `reconnect`, an agent cut off reconnects to the next URL with backoff and full jitter.
   */
  fleetConnect: {
    args: {
      urls: string[];
      tokens: string[];
      names: string[];
      wave: number;
      reconnect: boolean;
      timings: boolean;
      /** Labels every agent registers with (the `run` scenario targets its fleet by them). */
      labels?: Record<string, string>;
    };
    result: { registered: number; failed: number; timings: AgentTiming[] };
  };
  /** Every agent heartbeats each `periodMs` (own random phase) for `durationMs`; metrics carry {hb, t}. */
  fleetHeartbeat: { args: { periodMs: number; durationMs: number }; result: { sent: number } };
  /** Wait until every agent registered again after `since`; `last` = the latest such registration. */
  fleetWaitRegistered: {
    args: { since: number; timeoutMs: number };
    result: { complete: boolean; registered: number; total: number; last: number; attempts: number };
  };
  fleetClose: { args: Record<string, never>; result: Record<string, never> };
  /**
   * Every fleet agent answers a `command` at once with exit 0. Waits until `count` arrived since
   * the last call (or the timeout): their arrival times (bench clock) and how many repeated an id.
   */
  fleetCommands: { args: { count: number; timeoutMs: number }; result: { at: number[]; duplicates: number } };

  /** Open `count` plain sockets to a reference relay as agents (`?role=agent`) that then say nothing, in waves of `wave`. */
  idleOpen: { args: { url: string; count: number; wave: number }; result: { opened: number; failed: number } };
  idleClose: { args: Record<string, never>; result: Record<string, never> };

  /** Sequential browser `dispatch` → agent `command`, `count` times; latencies in the histogram. */
  dispatchRun: {
    args: {
      browserUrl: string;
      cookie: string;
      origin: string;
      agentUrl: string;
      token: string;
      hostId: string;
      count: number;
      timeoutMs: number;
    };
    result: { hist: HistogramData; sent: number; received: number; duplicates: number; reordered: number };
  };
}

export type OpName = keyof Ops;

export interface Request<K extends OpName = OpName> {
  id: number;
  op: K;
  args: Ops[K]["args"];
}

export type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };
