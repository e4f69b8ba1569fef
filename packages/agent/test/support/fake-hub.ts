import http from "node:http";
import type { AddressInfo } from "node:net";
import { AgentToHubSchema, ErrorCode, type AgentToHub, type HubToAgent } from "@tether/protocol";
import { WebSocketServer, type WebSocket } from "ws";

type FinishedPayload = Extract<AgentToHub, { type: "command_finished" }>["payload"];
type OutputPayload = Extract<AgentToHub, { type: "output" }>["payload"];

/** Decides, per frame, whether the hub "receives" it; returning false simulates loss in flight. */
export type FrameFilter = (socket: HubSocket, frame: AgentToHub) => boolean;

/** One agent connection as the fake hub sees it. */
export class HubSocket {
  readonly frames: AgentToHub[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: { match: (f: AgentToHub) => boolean; resolve: (f: AgentToHub) => void }[] = [];

  constructor(
    readonly ws: WebSocket,
    readonly index: number,
  ) {
    this.closed = new Promise((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  /** The first frame (received on this socket, from the start) of `type` that matches. */
  next<T extends AgentToHub["type"]>(
    type: T,
    match: (f: Extract<AgentToHub, { type: T }>) => boolean = () => true,
  ): Promise<Extract<AgentToHub, { type: T }>> {
    const test = (f: AgentToHub) => f.type === type && match(f as Extract<AgentToHub, { type: T }>);
    const found = this.frames.find(test);
    if (found) return Promise.resolve(found as Extract<AgentToHub, { type: T }>);
    return new Promise((resolve) => this.waiters.push({ match: test, resolve: resolve as (f: AgentToHub) => void }));
  }

  /** Like next, but only frames arriving after this call (e.g. the second heartbeat). */
  nextNew<T extends AgentToHub["type"]>(type: T): Promise<Extract<AgentToHub, { type: T }>> {
    const from = this.frames.length;
    return this.next(type, (f) => this.frames.indexOf(f) >= from);
  }

  send(frame: HubToAgent): void {
    this.ws.send(JSON.stringify(frame));
  }

  deliver(frame: AgentToHub): void {
    this.frames.push(frame);
    for (const w of [...this.waiters]) {
      if (w.match(frame)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(frame);
      }
    }
  }
}

/**
 * A tiny real WebSocket server playing the hub's side of CONTRACT §3 for agent tests: 401 for
 * a wrong token, `registered` after `register`, and output bookkeeping like the real hub
 * (a seq it has is dropped silently, a seq that skips ahead gets `seq_gap` and is not stored).
 */
export class FakeHub {
  url = "";
  readonly sockets: HubSocket[] = [];
  readonly invalid: string[] = [];
  readonly seqGaps: OutputPayload[] = [];
  /** Largest frame received, bytes. */
  maxFrameBytes = 0;
  outputFrames = 0;
  filter: FrameFilter = () => true;
  /** The next this many upgrades are answered 503 with this `Retry-After` (seconds). */
  busy = { count: 0, retryAfter: "1" };
  private readonly output = new Map<string, OutputPayload[]>();
  private readonly finished = new Map<string, FinishedPayload[]>();
  private socketWaiters: ((s: HubSocket) => void)[] = [];
  private finishWaiters: { id: string; resolve: (p: FinishedPayload) => void }[] = [];
  private readonly server = http.createServer();
  private readonly wss = new WebSocketServer({ noServer: true });

  constructor(
    readonly token = "good-token",
    readonly autoRegister = true,
  ) {
    this.server.on("upgrade", (req, socket, head) => {
      if (req.headers.authorization !== `Bearer ${this.token}`) {
        socket.end("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
      }
      if (this.busy.count > 0) {
        this.busy.count -= 1;
        socket.end(
          `HTTP/1.1 503 Service Unavailable\r\nRetry-After: ${this.busy.retryAfter}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
        );
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}/ws`;
    return this;
  }

  /** The n-th (0-based) agent connection, now or when it arrives. */
  connection(n: number): Promise<HubSocket> {
    const existing = this.sockets[n];
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve) => {
      const wait = (s: HubSocket) => (s.index === n ? resolve(s) : this.socketWaiters.push(wait));
      this.socketWaiters.push(wait);
    });
  }

  /** Output of a command as stored: deduplicated, in seq order, without gaps. */
  chunks(commandId: string): OutputPayload[] {
    return this.output.get(commandId) ?? [];
  }

  text(commandId: string, stream?: "stdout" | "stderr"): string {
    return this.chunks(commandId)
      .filter((c) => !stream || c.stream === stream)
      .map((c) => c.data)
      .join("");
  }

  finishes(commandId: string): FinishedPayload[] {
    return this.finished.get(commandId) ?? [];
  }

  /** Resolves with the first `command_finished` of a command. */
  waitFinished(commandId: string): Promise<FinishedPayload> {
    const done = this.finishes(commandId)[0];
    if (done) return Promise.resolve(done);
    return new Promise((resolve) => this.finishWaiters.push({ id: commandId, resolve }));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(ws: WebSocket): void {
    const socket = new HubSocket(ws, this.sockets.length);
    this.sockets.push(socket);
    ws.on("message", (data) => {
      const text = data.toString();
      this.maxFrameBytes = Math.max(this.maxFrameBytes, Buffer.byteLength(text));
      const parsed = AgentToHubSchema.safeParse(JSON.parse(text));
      if (!parsed.success) {
        this.invalid.push(text.slice(0, 200));
        return;
      }
      const frame = parsed.data;
      if (!this.filter(socket, frame)) return;
      if (frame.type === "register" && this.autoRegister) socket.send({ type: "registered", payload: { host_id: "host-1" } });
      if (frame.type === "output") this.storeOutput(socket, frame.payload);
      if (frame.type === "command_finished") {
        const list = this.finished.get(frame.payload.command_id) ?? [];
        list.push(frame.payload);
        this.finished.set(frame.payload.command_id, list);
        for (const w of this.finishWaiters.filter((x) => x.id === frame.payload.command_id)) {
          this.finishWaiters.splice(this.finishWaiters.indexOf(w), 1);
          w.resolve(frame.payload);
        }
      }
      socket.deliver(frame);
    });
    for (const wait of this.socketWaiters.splice(0)) wait(socket);
  }

  private storeOutput(socket: HubSocket, p: OutputPayload): void {
    this.outputFrames += 1;
    const list = this.output.get(p.command_id) ?? [];
    this.output.set(p.command_id, list);
    if (p.seq < list.length) return; // already have it: dropped silently, like the hub
    if (p.seq > list.length) {
      this.seqGaps.push(p);
      socket.send({ type: "error", payload: { code: ErrorCode.SEQ_GAP, message: `expected seq ${list.length}` } });
      return;
    }
    list.push(p);
  }
}
