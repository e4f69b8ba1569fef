import type { WebSocket } from "ws";
import type { Clock } from "@tether/core";

/** Each slot is this long: a hub with 10,000 sockets and a 5 s interval pings 20 of them per tick. */
const SLOT_MS = 10;

/**
 * A socket kept alive. An agent's connection is its own entry (no object, closure or listener of
 * its own per socket: issue 15.4); a browser gets a small one from {@link KeepAlive.add}.
 */
export interface KeepAliveEntry {
  readonly ws: WebSocket;
  /** Ponged since the last ping (true when added). */
  alive: boolean;
  /** Its slot; -1 when not kept alive. */
  slot: number;
  /** Delays the ping (see {@link KeepAlive}); no ping goes out when it resolves false. */
  beforePing?(): Promise<boolean>;
}

/** Where a socket's entry is found by the pong listener, which is one function for every socket. */
const ENTRY = Symbol("keepalive entry");
type Kept = WebSocket & { [ENTRY]?: KeepAliveEntry };

/** The entry `ws` is kept alive by, if any: the one lookup the listeners shared by all agent sockets need. */
export function keptBy<E extends KeepAliveEntry>(ws: WebSocket): E | undefined {
  return (ws as Kept)[ENTRY] as E | undefined;
}

function onPong(this: Kept): void {
  const entry = this[ENTRY];
  if (entry) entry.alive = true;
}

/**
 * Keepalive for every socket of a hub, on one timer: the ping interval is cut into 10 ms slots and
 * each socket pings in the slot of its connect time, so pings spread over the interval instead
 * of going out in one burst, and 10,000 sockets cost one timer rather than 10,000. A socket that
 * did not pong since its previous ping is terminated.
 *
 * `beforePing` (agents) delays the ping until every frame received so far is stored; it returns
 * false when storing one failed, and then no ping goes out. An agent takes a ping as proof that
 * the frames it sent before its previous pong are safe (packages/agent outbox), so a ping must
 * never overtake a write.
 */
export class KeepAlive {
  /** Made on first use: a 30 s interval has 3,000 slots, most of them empty on a small hub. */
  private readonly slots: Array<Set<KeepAliveEntry> | undefined>;
  private cursor = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    intervalMs: number,
    private readonly clock: Clock,
  ) {
    // Small batches, so a tick never holds up the frames of busy sockets for long.
    const count = Math.max(1, Math.round(intervalMs / SLOT_MS));
    this.slots = new Array<Set<KeepAliveEntry> | undefined>(count).fill(undefined);
    this.timer = clock.setInterval(() => this.tick(), intervalMs / count);
    this.timer.unref?.();
  }

  /** Start keeping `ws` alive; returns the function that stops it. */
  add(ws: WebSocket, beforePing?: () => Promise<boolean>): () => void {
    const entry: KeepAliveEntry = beforePing ? { ws, alive: true, slot: -1, beforePing } : { ws, alive: true, slot: -1 };
    this.keep(entry);
    return () => this.drop(entry);
  }

  /** Start keeping `entry.ws` alive, with `entry` as its record (until {@link drop}). */
  keep(entry: KeepAliveEntry): void {
    // The slot just behind the cursor comes round last: a full interval before the first ping.
    const at = (this.cursor + this.slots.length - 1) % this.slots.length;
    (this.slots[at] ??= new Set()).add(entry);
    entry.slot = at;
    entry.alive = true;
    (entry.ws as Kept)[ENTRY] = entry;
    entry.ws.on("pong", onPong);
  }

  /** Stop keeping `entry.ws` alive. */
  drop(entry: KeepAliveEntry): void {
    if (entry.slot < 0) return;
    this.slots[entry.slot]?.delete(entry);
    entry.slot = -1;
  }

  stop(): void {
    this.clock.clearInterval(this.timer);
  }

  private tick(): void {
    const slot = this.slots[this.cursor];
    this.cursor = (this.cursor + 1) % this.slots.length;
    if (!slot) return;
    for (const entry of slot) {
      const { ws } = entry;
      if (!entry.alive) {
        slot.delete(entry);
        entry.slot = -1;
        ws.terminate();
        continue;
      }
      entry.alive = false;
      if (!entry.beforePing) ws.ping();
      else void entry.beforePing().then((ok) => ok && ws.readyState === ws.OPEN && ws.ping());
    }
  }
}
