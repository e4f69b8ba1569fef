import { CloseCode } from "@tether/protocol";
import { backoffDelay, goingAwayDelay } from "./backoff";
import { isFleetFrame } from "./fleet-state";
import { LatencyWindow } from "./latency";
import type { FleetFrame } from "./fleet-state";
import { parseHubFrame } from "./parse-frame";

// Method-style signature: parameters compare bivariantly, so a DOM `WebSocket` (whose
// handlers take `Event`, `MessageEvent`, `CloseEvent`) fits without this module using DOM types.
type Handler<E> = { bivarianceHack(event: E): void }["bivarianceHack"];

/** The part of a browser `WebSocket` this client uses; a fake one drives the unit tests. */
export interface SocketLike {
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ data: unknown }> | null;
  onclose: Handler<{ code: number; reason: string }> | null;
  onerror: Handler<unknown> | null;
  close(code?: number, reason?: string): void;
}

/** `connecting` before the first open, `live` while open, `reconnecting` between attempts, `stopped` for good. */
export type ConnectionStatus = "connecting" | "live" | "reconnecting" | "stopped";

export interface FleetSocketDeps {
  /** WebSocket URL, with `?after=` when resuming. */
  url(after: string | undefined): string;
  createSocket(url: string): SocketLike;
  /** Each valid frame, in order. */
  onFrame(frame: FleetFrame): void;
  onStatus(status: ConnectionStatus): void;
  /** The session is gone (close 4401, or the upgrade failed and the session check says so). */
  onUnauthorized(): void;
  /**
   * Asked after a connection that never opened: a browser cannot see the HTTP status of a
   * refused upgrade, so an expired cookie (401) looks like a network error. Resolves false
   * when the session is gone.
   */
  checkSession(): Promise<boolean>;
  /**
   * The user's role or teams changed (close 4403, CONTRACT §4). The socket reconnects by
   * itself, without `after`: what the user may see changed, so it starts from a new snapshot.
   */
  onRightsChanged?(): void;
  /** Defaults: `Math.random`, `setTimeout`, `clearTimeout`, `Date.now`. */
  random?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (timer: unknown) => void;
  now?: () => number;
  log?: (message: string, detail?: unknown) => void;
}

/** Close code of CONTRACT §4: the user's rights changed; reconnect and the new ones apply. */
export const RIGHTS_CHANGED = 4403;

/** A connection that stayed up this long resets the backoff (ms). */
const STABLE_AFTER_MS = 10_000;

/**
 * One browser connection to the hub: opens `/ws`, remembers the `id` of the last frame,
 * and after any drop reconnects with backoff and full jitter, resuming with `?after=` so no
 * event is missed or repeated (CONTRACT §3).
 */
export class FleetSocket {
  /** Id of the last fleet frame received: where a reconnect resumes. */
  lastId: string | undefined;
  status: ConnectionStatus = "stopped";
  /** Event latency (`ts` → received) on the current connection; a new one starts afresh. */
  latency = new LatencyWindow();
  private socket: SocketLike | undefined;
  private timer: unknown;
  private attempt = 0;
  private openedAt: number | undefined;
  private readonly random: () => number;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (timer: unknown) => void;
  private readonly now: () => number;

  constructor(private readonly deps: FleetSocketDeps) {
    this.random = deps.random ?? Math.random;
    this.setTimer = deps.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = deps.clearTimer ?? ((timer) => clearTimeout(timer as ReturnType<typeof setTimeout>));
    this.now = deps.now ?? Date.now;
  }

  start(): void {
    if (this.status !== "stopped") return;
    this.setStatus("connecting");
    this.connect();
  }

  /** Closes for good (logout, session gone). */
  stop(): void {
    this.clearTimer(this.timer);
    this.timer = undefined;
    const socket = this.socket;
    this.socket = undefined;
    if (socket) {
      detach(socket);
      socket.close(CloseCode.NORMAL, "client stopped");
    }
    this.setStatus("stopped");
  }

  /** Skips the wait of a pending reconnect (the browser came back online). */
  retryNow(): void {
    if (this.status !== "reconnecting" || this.socket) return;
    this.clearTimer(this.timer);
    this.connect();
  }

  private connect(): void {
    this.timer = undefined;
    this.openedAt = undefined;
    this.latency = new LatencyWindow();
    const socket = this.deps.createSocket(this.deps.url(this.lastId));
    this.socket = socket;
    socket.onopen = () => {
      this.openedAt = this.now();
      this.setStatus("live");
    };
    socket.onmessage = (event) => this.receive(event.data);
    socket.onclose = (event) => this.closed(socket, event.code);
    socket.onerror = () => {}; // always followed by close, which decides what to do
  }

  private receive(data: unknown): void {
    const frame = parseHubFrame(data);
    if (!frame) {
      this.deps.log?.("ignored an invalid frame from the hub", data);
      return;
    }
    if (!isFleetFrame(frame)) {
      this.deps.log?.(`hub error ${frame.payload.code}: ${frame.payload.message}`);
      return;
    }
    this.lastId = frame.id;
    // `hosts` is a snapshot, not an event: its `ts` is when it was read, not when anything happened.
    if (frame.type !== "hosts") this.latency.add(frame.ts, this.now());
    this.deps.onFrame(frame);
  }

  private closed(socket: SocketLike, code: number): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    detach(socket);
    const opened = this.openedAt !== undefined;
    if (opened && this.now() - (this.openedAt as number) >= STABLE_AFTER_MS) this.attempt = 0;
    if (code === CloseCode.REVOKED) {
      this.stop();
      this.deps.onUnauthorized();
      return;
    }
    if (code === CloseCode.REPLACED) {
      this.stop(); // never sent to browsers; obey the contract anyway
      return;
    }
    this.setStatus("reconnecting");
    if (code === RIGHTS_CHANGED) {
      // Resuming would keep hosts the user may no longer see: take a fresh snapshot instead.
      this.lastId = undefined;
      this.timer = this.setTimer(() => this.connect(), goingAwayDelay(this.random));
      this.deps.onRightsChanged?.();
      return;
    }
    // 1001: the hub is going away, come back at once. Anything else: back off; an overloaded
    // hub (1013) gets at least a few seconds even after a long, healthy connection.
    const attempt = this.attempt++;
    const delay =
      code === CloseCode.GOING_AWAY
        ? goingAwayDelay(this.random)
        : backoffDelay(code === CloseCode.TRY_AGAIN_LATER ? Math.max(attempt, 3) : attempt, this.random);
    this.timer = this.setTimer(() => this.connect(), delay);
    if (!opened) void this.verifySession();
  }

  private async verifySession(): Promise<void> {
    let alive: boolean;
    try {
      alive = await this.deps.checkSession();
    } catch {
      return; // the API is unreachable too: keep retrying the socket
    }
    if (!alive && this.status !== "stopped") {
      this.stop();
      this.deps.onUnauthorized();
    }
  }

  private setStatus(status: ConnectionStatus): void {
    if (this.status === status) return;
    this.status = status;
    this.deps.onStatus(status);
  }
}

function detach(socket: SocketLike): void {
  socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
}
