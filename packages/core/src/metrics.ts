import { Registry, collectDefaultMetrics, Counter, Gauge, Histogram } from "prom-client";

/** What the hot path holds of a counter child: `inc(n = 1)`. */
export interface FastCount {
  inc(n?: number): void;
}

class Cell implements FastCount {
  n = 0;
  reported = 0;
  inc(n = 1): void {
    this.n += n;
  }
}

/**
 * A counter by frame kind and type, counted in plain numbers and handed to prom-client only when
 * it is scraped: frames are counted on every message, and prom-client hashes the label set (the
 * default labels too) on every `inc`, even through a bound child.
 */
function byKindAndType(name: string, help: string, registry: Registry): (kind: string, type: string) => FastCount {
  const cells = new Map<string, Map<string, Cell>>();
  new Counter({
    name,
    help,
    labelNames: ["kind", "type"],
    registers: [registry],
    collect() {
      for (const [kind, byType] of cells)
        for (const [type, cell] of byType) {
          if (cell.n === cell.reported) continue;
          this.inc({ kind, type }, cell.n - cell.reported);
          cell.reported = cell.n;
        }
    },
  });
  return (kind, type) => {
    let byType = cells.get(kind);
    if (!byType) cells.set(kind, (byType = new Map()));
    let cell = byType.get(type);
    if (!cell) byType.set(type, (cell = new Cell()));
    return cell;
  };
}

/** What the hot path holds of a histogram: `observe(value)`. */
export interface FastObserve {
  observe(value: number): void;
}

/** Observations a {@link bufferedHistogram} holds before it hands them to prom-client. */
export const HISTOGRAM_BUFFER = 512;

/**
 * A histogram whose hot-path `observe` only stores the value; prom-client gets the values in a
 * run, when the buffer is full and before each scrape (the `collect` hook), so a scrape shows
 * every observation made before it. prom-client's own `observe` builds a label object, hashes
 * the label set and finds the bucket on every call; one per frame in each hub (the append time,
 * the relay lag) cost as much as the rest of a frame's bookkeeping at 1,000 frames/s, where each
 * frame is a wake-up of its own (issue 15.1). Same buckets, sum and count as a plain Histogram.
 */
export function bufferedHistogram(config: { name: string; help: string; buckets: number[]; registers: Registry[] }): FastObserve & {
  histogram: Histogram;
} {
  const values = new Float64Array(HISTOGRAM_BUFFER);
  let n = 0;
  const histogram = new Histogram({
    ...config,
    collect() {
      flush();
    },
  });
  const flush = () => {
    for (let i = 0; i < n; i++) histogram.observe(values[i]!);
    n = 0;
  };
  return {
    histogram,
    observe(value: number) {
      // prom-client throws on these; refused here, where the caller can see it.
      if (!Number.isFinite(value)) throw new TypeError(`Value is not a valid number: ${value}`);
      values[n++] = value;
      if (n === HISTOGRAM_BUFFER) flush();
    },
  };
}

/**
 * Records refused because their MAC is missing or wrong (issue 13.3), by kind: each refusal counts.
 * Every kind starts at 0, so a scrape shows the series before the first forgery.
 */
function forgedRecordsCounter(registry: Registry) {
  const counter = new Counter({
    name: "tether_forged_records_total",
    help: "Records refused because their MAC is missing or wrong (written outside Tether), by kind",
    labelNames: ["kind"],
    registers: [registry],
  });
  for (const kind of ["user", "api_token", "session", "host_token"]) counter.labels(kind).inc(0);
  return counter;
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
    framesIn: byKindAndType("tether_frames_in_total", "Frames received by type", registry),
    /** `framesOut(kind, type).inc(n)`: frames sent. */
    framesOut: byKindAndType("tether_frames_out_total", "Frames sent by type", registry),
    badFrames: new Counter({
      name: "tether_bad_frames_total",
      help: "Frames rejected",
      labelNames: ["kind", "code"],
      registers: [registry],
    }),
    appendSeconds: bufferedHistogram({
      name: "tether_event_append_seconds",
      help: "Latency of an event append (Lua XADD+PUBLISH)",
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers: [registry],
    }),
    relayLagSeconds: bufferedHistogram({
      name: "tether_relay_lag_seconds",
      help: "Event timestamp to relay on this hub",
      // 0.25: the threshold of the alert in deploy/prometheus/tether-alerts.yml.
      buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    queueDepth: new Gauge({ name: "tether_queue_depth", help: "Jobs waiting or delayed", labelNames: ["queue"], registers: [registry] }),
    offlineChecks: new Counter({
      name: "tether_offline_checks_total",
      help: "Offline checks run",
      labelNames: ["result"],
      registers: [registry],
    }),
    handshakesWaiting: new Gauge({
      name: "tether_handshakes_waiting",
      help: "WebSocket upgrades waiting for a handshake slot (MAX_PENDING_HANDSHAKES)",
      registers: [registry],
    }),
    handshakesRefused: new Counter({
      name: "tether_handshakes_refused_total",
      help: "WebSocket upgrades answered 503 because too many handshakes were waiting (MAX_PENDING_HANDSHAKES × 10)",
      registers: [registry],
    }),
    slowConsumers: new Counter({
      name: "tether_slow_consumers_total",
      help: "Browser sockets closed for buffering too much",
      registers: [registry],
    }),
    forgedRecords: forgedRecordsCounter(registry),
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
