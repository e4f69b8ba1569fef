import { Registry, collectDefaultMetrics, Counter, Gauge, Histogram } from "prom-client";

/**
 * A counter by frame kind and type whose label children are looked up once each and then kept:
 * frames are counted on every message, and prom-client hashes the label object on every `inc`.
 */
function byKindAndType(counter: Counter<"kind" | "type">): (kind: string, type: string) => Counter.Internal {
  const children = new Map<string, Counter.Internal>();
  return (kind, type) => {
    const key = `${kind} ${type}`;
    let child = children.get(key);
    if (!child) {
      child = counter.labels({ kind, type });
      children.set(key, child);
    }
    return child;
  };
}

/** One Prometheus registry per process, with the default process metrics. */
export function createMetrics(service: string, nodeId: string) {
  const registry = new Registry();
  registry.setDefaultLabels({ service, node: nodeId });
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    sockets: new Gauge({ name: "tether_sockets", help: "Open WebSocket connections by kind", labelNames: ["kind"], registers: [registry] }),
    /** `framesIn(kind, type).inc()`: frames received. */
    framesIn: byKindAndType(
      new Counter({ name: "tether_frames_in_total", help: "Frames received by type", labelNames: ["kind", "type"], registers: [registry] }),
    ),
    /** `framesOut(kind, type).inc(n)`: frames sent. */
    framesOut: byKindAndType(
      new Counter({ name: "tether_frames_out_total", help: "Frames sent by type", labelNames: ["kind", "type"], registers: [registry] }),
    ),
    badFrames: new Counter({
      name: "tether_bad_frames_total",
      help: "Frames rejected",
      labelNames: ["kind", "code"],
      registers: [registry],
    }),
    appendSeconds: new Histogram({
      name: "tether_event_append_seconds",
      help: "Latency of an event append (Lua XADD+PUBLISH)",
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers: [registry],
    }),
    relayLagSeconds: new Histogram({
      name: "tether_relay_lag_seconds",
      help: "Event timestamp to relay on this hub",
      buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
      registers: [registry],
    }),
    queueDepth: new Gauge({ name: "tether_queue_depth", help: "Jobs waiting or delayed", labelNames: ["queue"], registers: [registry] }),
    offlineChecks: new Counter({
      name: "tether_offline_checks_total",
      help: "Offline checks run",
      labelNames: ["result"],
      registers: [registry],
    }),
    slowConsumers: new Counter({
      name: "tether_slow_consumers_total",
      help: "Browser sockets closed for buffering too much",
      registers: [registry],
    }),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
