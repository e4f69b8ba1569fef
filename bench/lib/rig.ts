/**
 * An output rig: one agent streaming `output` frames through a relay to N receivers on the
 * other node, for any of the three systems, measured the same way. Shared by `output`,
 * `fanout` and `idle`.
 */
import { Generator, split, stopAll } from "./generators";
import { cpuPercent, cpuSecondsSince, markCpu, type Pids } from "./cpu";
import { checkDelivery, type DeliveryCheck, type ReceiverTotals } from "./delivery";
import { Histogram, summarize, type LatencySummary } from "./hist";
import { startRefPair, stopRefPair, type RefNode } from "./ref-nodes";
import type { RedisLoad } from "./redis-cpu";
import type { TetherBench } from "./tether";
import type { System } from "../gen/protocol";

/** What one measured phase gives. */
export interface PhaseResult {
  system: System;
  label: string;
  /** Frames/s asked for (0 = as fast as it goes). */
  rate: number;
  sent: number;
  /** Frames/s the agent managed to send. */
  sendRate: number;
  /** Mean over receivers of frames received / (last receive − first send), per second. */
  recvRate: number;
  latency: LatencySummary;
  delivery: DeliveryCheck;
  /** % of one core per process over the phase (relay nodes, redis, generators). */
  cpu: Record<string, number>;
  /** CPU-seconds per process over the phase (same names as `cpu`): issue 15's CPU per frame. */
  cpuSeconds: Record<string, number>;
  /** Tether: Redis CPU per server over the phase (INFO cpu), divided by the frames sent. */
  redis?: RedisLoad;
}

export interface Rig {
  readonly system: System;
  /** Measure one phase; `count` frames at `rate` (0 = max). */
  phase(label: string, rate: number, count: number): Promise<PhaseResult>;
  /** A reference's two relay nodes, [agents' node, browsers' node] (empty for Tether): `idle` holds its sockets on the first. */
  readonly refNodes: readonly RefNode[];
  close(): Promise<void>;
}

/** Bound on the agent's unsent bytes in max mode: enough to keep the pipe full, never a flood. */
const MAX_BUFFERED = 256 * 1024;

export interface RigOptions {
  receivers: number;
  /** Receiving sockets are spread over this many generator processes. */
  receiverProcs: number;
  /** Tether: where the agent and the browsers connect (default hub A and hub B). */
  agentUrl?: string;
  browserUrl?: string;
  /** Extra processes to account CPU for (e.g. the `idle` hub). */
  pids?: Pids;
}

export async function openRig(system: System, tether: TetherBench, opts: RigOptions): Promise<Rig> {
  const gens: Generator[] = [];
  let pair: RefNode[] = [];
  try {
    const [sender, ...receivers] = await Generator.startMany(`${system}-gen`, 1 + opts.receiverProcs);
    gens.push(sender!, ...receivers);
    let agentUrl: string;
    let browserUrl: string;
    let hostId = "";
    let token: string | undefined;
    if (system === "tether") {
      agentUrl = opts.agentUrl ?? tether.hubA.wsUrl;
      browserUrl = opts.browserUrl ?? tether.hubB.wsUrl;
      const [host] = await tether.createHosts(`output-${Date.now()}`, 1);
      hostId = host!.id;
      token = host!.token;
    } else {
      if (!tether.redis) throw new Error(`the ${system} reference needs the single Redis; it does not run on the cluster stack`);
      pair = await startRefPair(system, tether.redis.url, `bench-${system}-${Date.now()}`);
      agentUrl = pair[0]!.url;
      browserUrl = pair[1]!.url;
    }
    const counts = split(
      Array.from({ length: opts.receivers }, (_, i) => i),
      receivers.length,
    ).map((p) => p.length);
    await Promise.all(
      receivers.map((g, i) =>
        g.call("openReceivers", {
          system,
          url: browserUrl,
          count: counts[i]!,
          cookie: tether.cookie,
          origin: tether.origin,
          idOrder: tether.idOrder,
        }),
      ),
    );
    await sender!.call("openSender", { system, url: agentUrl, token });
    const pids: Pids =
      system === "tether"
        ? { ...tether.pids(), ...opts.pids }
        : { [`${system}A`]: pair[0]!.pid, [`${system}B`]: pair[1]!.pid, ...tether.redisPids() };
    pids["gen-agent"] = sender!.pid;
    receivers.forEach((g, i) => (pids[`gen-browsers${i + 1}`] = g.pid));
    let n = 0;
    const newKey = async (): Promise<string> => {
      if (system !== "tether") return `k${++n}`;
      await tether.dispatch(hostId, "bench-output");
      return (await sender!.call("nextCommand", { timeoutMs: 15_000 })).commandId;
    };
    return {
      system,
      refNodes: pair,
      async phase(label, rate, count) {
        const key = await newKey();
        const redisEnd = system === "tether" ? await tether.redisCpu.start() : undefined;
        const cpuStart = markCpu(pids);
        const sent = await sender!.call("stream", { key, rate, count, maxBuffered: MAX_BUFFERED });
        const waitMs = 20_000;
        await Promise.all(receivers.map((g) => g.call("waitReceived", { group: key, total: sent.sent, timeoutMs: waitMs })));
        const used = cpuSecondsSince(cpuStart, pids);
        const redis = await redisEnd?.(sent.sent);
        const parts = await Promise.all(receivers.map((g) => g.call("collect", { group: key })));
        const totals: ReceiverTotals[] = parts.flatMap((p) => p.receivers);
        const hist = Histogram.from(...parts.map((p) => p.hist));
        const rates = totals.map((t) => (t.unique > 0 ? (t.unique * 1000) / Math.max(1, t.lastRecvAt - t.firstSentAt) : 0));
        return {
          system,
          label,
          rate,
          sent: sent.sent,
          sendRate: (sent.sent * 1000) / Math.max(1, sent.lastAt - sent.firstAt),
          recvRate: rates.reduce((a, b) => a + b, 0) / Math.max(1, rates.length),
          latency: summarize(hist),
          delivery: checkDelivery(sent.sent, totals),
          cpu: cpuPercent(used),
          cpuSeconds: used.seconds,
          ...(redis ? { redis } : {}),
        };
      },
      async close() {
        await stopAll(gens);
        await stopRefPair(pair);
      },
    };
  } catch (err) {
    await stopAll(gens);
    await stopRefPair(pair);
    throw err;
  }
}
