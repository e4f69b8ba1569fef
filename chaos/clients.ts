/**
 * The chaos run's clients, in the runner's own process: agents that run what they are sent (and
 * record every command id they were handed, for the at-most-once check) and reconnect with the
 * reference agent's backoff; browsers that resume with `?after=` and record every frame id.
 */
import WebSocket from "ws";
import { createBackoff, type Backoff } from "../packages/agent/src/backoff";

/** Close codes after which a client must not come back with the same credentials (CONTRACT §3). */
const FINAL_CODES = new Set([4001, 4401]);

export class ChaosAgent {
  /** Command id → how many `command` frames for it reached this agent (a redelivery after a cut is allowed). */
  readonly delivered = new Map<string, number>();
  /** Command ids this agent ran, each once: a redelivered one is answered again, never run again (as the real agent does). */
  readonly ran = new Set<string>();
  /** Set when the current socket got `registered`; cleared on its close. */
  registeredAt = 0;
  /** A close code that told it to stay away (4001/4401 on its current socket): a violation here. */
  finalClose: number | undefined;
  private ws: WebSocket | undefined;
  private readonly backoff: Backoff = createBackoff({ baseMs: 500, capMs: 5000 });
  private heartbeats: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;
  private beats = 0;
  private dials = 0;
  private lastClose: string | undefined;
  private lastRefusal: string | undefined;

  constructor(
    readonly name: string,
    readonly hostId: string,
    private readonly token: string,
    private readonly url: string,
    private readonly heartbeatMs: number,
  ) {}

  get connected(): boolean {
    return this.ws?.readyState === WebSocket.OPEN && this.registeredAt > 0;
  }

  /** Where it stands, for a report of who did not come back. */
  describe(): string {
    const state = ["connecting", "open", "closing", "closed"][this.ws?.readyState ?? 3];
    return `agent ${this.name}: socket ${state}, ${this.registeredAt ? "registered" : "not registered"}, ${this.dials} dials, last close ${this.lastClose ?? "none"}, last refusal ${this.lastRefusal ?? "none"}${this.finalClose ? `, shut out ${this.finalClose}` : ""}`;
  }

  start(): void {
    this.stopped = false;
    this.dial();
  }

  /** One upgrade to `url` with this agent's token, closed at once: "101" or the HTTP status or error. */
  probe(url: string): Promise<string> {
    return new Promise((resolve) => {
      const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${this.token}` }, handshakeTimeout: 5000 });
      ws.on("open", () => {
        resolve("101");
        ws.terminate();
      });
      ws.on("unexpected-response", (_req, res) => {
        resolve(`HTTP ${res.statusCode}`);
        res.resume();
        ws.terminate();
      });
      ws.on("error", (err) => resolve(`error ${err.message}`));
    });
  }

  /** Drop the socket without a close frame (a network cut); it reconnects by itself. */
  cut(): void {
    this.ws?.terminate();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    clearInterval(this.heartbeats);
    this.ws?.terminate();
  }

  private dial(): void {
    this.dials += 1;
    // A handshake that hangs (a node that froze mid-upgrade) is given up, as the real agent does.
    const ws = new WebSocket(this.url, {
      headers: { Authorization: `Bearer ${this.token}` },
      perMessageDeflate: false,
      handshakeTimeout: 10_000,
    });
    this.ws = ws;
    ws.on("open", () => ws.send(JSON.stringify({ type: "register", payload: { hostname: this.name } })));
    ws.on("unexpected-response", (_req, res) => {
      this.lastRefusal = `HTTP ${res.statusCode} at ${new Date().toISOString().slice(11, 23)}`;
      res.resume();
      ws.terminate();
    });
    ws.on("message", (data) => this.onFrame(ws, (data as Buffer).toString()));
    ws.on("error", () => undefined);
    ws.on("close", (code) => {
      if (this.ws !== ws) return;
      this.lastClose = `${code} at ${new Date().toISOString().slice(11, 23)}`;
      this.registeredAt = 0;
      clearInterval(this.heartbeats);
      if (this.stopped) return;
      if (FINAL_CODES.has(code)) {
        this.finalClose = code;
        return;
      }
      // 1001 (a hub draining): at once, with jitter; anything else: back off.
      const wait = code === 1001 ? Math.random() * 500 : this.backoff.next();
      this.retry = setTimeout(() => this.dial(), wait);
    });
  }

  private onFrame(ws: WebSocket, text: string): void {
    let frame: { type: string; payload: Record<string, unknown> };
    try {
      frame = JSON.parse(text) as typeof frame;
    } catch {
      return;
    }
    if (frame.type === "registered") {
      this.registeredAt = Date.now();
      this.backoff.reset();
      clearInterval(this.heartbeats);
      this.heartbeats = setInterval(() => {
        if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "heartbeat", payload: { metrics: { beat: this.beats++ } } }));
      }, this.heartbeatMs);
      return;
    }
    if (frame.type === "command") {
      const id = String(frame.payload.command_id);
      this.delivered.set(id, (this.delivered.get(id) ?? 0) + 1);
      // Run once; a redelivery (its finish may have died with a hub) gets the same answer again,
      // output with the same seq (the hub drops seqs it has).
      this.ran.add(id);
      ws.send(
        JSON.stringify({ type: "output", payload: { command_id: id, seq: 0, stream: "stdout", data: `ran ${id} on ${this.name}\n` } }),
      );
      ws.send(JSON.stringify({ type: "command_finished", payload: { command_id: id, exit_code: 0, status: "succeeded" } }));
    }
  }
}

/** One segment of a browser's life: from a `hosts` snapshot (or a resume) to its close. */
export interface BrowserSegment {
  /** The id it started from: the snapshot's id, or the `after` it resumed with. */
  from: string;
  /** True when it started from a snapshot (`hosts`), with `resync` when the hub said so. */
  snapshot: boolean;
  resync: boolean;
  /** Ids of the event frames it received after `from`, in arrival order. */
  ids: string[];
  closeCode?: number;
}

export class ChaosBrowser {
  readonly segments: BrowserSegment[] = [];
  /** The newest id it holds: where it resumes from. */
  lastId = "";
  /** A close code that told it to stay away (4401): a violation here. */
  finalClose: number | undefined;
  /** Set while it is connected and has had its first frame (snapshot or replay). */
  liveSince = 0;
  private ws: WebSocket | undefined;
  private readonly backoff: Backoff = createBackoff({ baseMs: 250, capMs: 2000 });
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;
  private opened = false;

  constructor(
    readonly index: number,
    private readonly url: string,
    private readonly cookie: string,
    private readonly origin: string,
  ) {}

  get open(): boolean {
    return this.ws?.readyState === WebSocket.OPEN && this.opened;
  }

  describe(): string {
    const state = ["connecting", "open", "closing", "closed"][this.ws?.readyState ?? 3];
    const last = this.segments.at(-1);
    return `browser ${this.index}: socket ${state}, ${this.liveSince ? "live" : "not live"}, ${this.segments.length} segments, last closed ${last?.closeCode ?? "-"}`;
  }

  start(): void {
    this.stopped = false;
    this.dial();
  }

  /** Stop reading for `ms` (a slow consumer): the hub's send buffer fills, it may close 1013. */
  stall(ms: number): Promise<void> {
    const socket = (this.ws as unknown as { _socket?: { pause(): void; resume(): void } } | undefined)?._socket;
    socket?.pause();
    return new Promise((resolve) =>
      setTimeout(() => {
        socket?.resume();
        resolve();
      }, ms),
    );
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retry);
    this.ws?.terminate();
  }

  private dial(): void {
    const target = new URL(this.url);
    if (this.lastId) target.searchParams.set("after", this.lastId);
    const ws = new WebSocket(target.toString(), {
      headers: { Cookie: this.cookie, Origin: this.origin },
      perMessageDeflate: false,
      handshakeTimeout: 10_000,
    });
    this.ws = ws;
    this.opened = false;
    const segment: BrowserSegment = { from: this.lastId, snapshot: false, resync: false, ids: [] };
    let started = false;
    ws.on("open", () => {
      this.opened = true;
      if (this.lastId) {
        // A resume: the segment starts at `after`; the hub replays, then goes live.
        started = true;
        this.segments.push(segment);
        this.liveSince = Date.now();
      }
    });
    ws.on("message", (data) => {
      let frame: { type: string; id?: string; payload: Record<string, unknown> };
      try {
        frame = JSON.parse((data as Buffer).toString()) as typeof frame;
      } catch {
        return;
      }
      if (frame.type === "hosts" && frame.id) {
        // The first frame without `after`, or a resync: a new segment from the snapshot.
        const snap: BrowserSegment = { from: frame.id, snapshot: true, resync: frame.payload.resync === true, ids: [] };
        if (started && segment.ids.length === 0 && segment === this.segments.at(-1)) this.segments.pop();
        this.segments.push(snap);
        started = true;
        this.lastId = frame.id;
        this.liveSince = Date.now();
        current = snap;
        return;
      }
      if (!frame.id) return;
      current.ids.push(frame.id);
      this.lastId = frame.id;
    });
    let current = segment;
    ws.on("error", () => undefined);
    ws.on("close", (code) => {
      if (this.ws !== ws) return;
      current.closeCode = code;
      this.liveSince = 0;
      this.opened = false;
      if (this.stopped) return;
      if (code === 4401) {
        this.finalClose = code;
        return;
      }
      this.retry = setTimeout(() => this.dial(), this.backoff.next());
    });
    ws.on("open", () => this.backoff.reset());
  }
}
