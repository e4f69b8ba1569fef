/**
 * At most `limit` WebSocket handshakes worked on at once; the rest wait their turn, in arrival
 * order. In a reconnect storm bigger than the limit (a hub died and its agents all dial the
 * others) this bounds the work and memory in flight, so the hub goes on serving the sockets it
 * holds while the newcomers are taken in as fast as it can set them up; past `maxWaiting` the
 * surplus is turned away, to come back later.
 */
export class HandshakeGate {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly limit: number,
    /** Beyond this many waiting, `enter` refuses (the caller answers 503 and the client backs off). */
    private readonly maxWaiting: number,
    /** Told how many wait, whenever that changes (for the gauge). */
    private readonly onWaiting: (n: number) => void = () => undefined,
  ) {}

  /** A slot: resolves with its release (call it once, when the handshake is done); null when full. */
  enter(): Promise<() => void> | null {
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    if (this.waiting.length >= this.maxWaiting) return null;
    return new Promise((resolve) => {
      this.waiting.push(() => resolve(this.releaser()));
      this.onWaiting(this.waiting.length);
    });
  }

  get stats(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.waiting.length };
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // The slot passes straight to the next in line; otherwise it is free.
      if (next) {
        this.onWaiting(this.waiting.length);
        next();
      } else this.active--;
    };
  }
}
