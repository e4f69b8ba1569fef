/**
 * Idle sockets for a reference relay: plain WebSockets that connect as agents (`?role=agent`)
 * and then send nothing, so `idle` can hold the bare relay's node to the same count of idle
 * agent sockets as Tether's hub (whose agents register first: the bare relay has no register).
 */
import WebSocket from "ws";

export class IdleSockets {
  private sockets: WebSocket[] = [];

  /** Opens `count` sockets to `url` in waves of `wave`, each wave awaited; a socket that fails counts as failed. */
  async open(url: string, count: number, wave: number): Promise<{ opened: number; failed: number }> {
    let failed = 0;
    for (let i = 0; i < count; i += wave) {
      const results = await Promise.allSettled(Array.from({ length: Math.min(wave, count - i) }, () => this.dial(url)));
      failed += results.filter((r) => r.status === "rejected").length;
    }
    return { opened: count - failed, failed };
  }

  private dial(url: string): Promise<void> {
    const ws = new WebSocket(`${url}?role=agent`, { perMessageDeflate: false });
    this.sockets.push(ws);
    ws.on("error", () => undefined);
    return new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("close", (code) => reject(new Error(`idle socket closed (${code}) before it opened`)));
    });
  }

  close(): void {
    for (const ws of this.sockets.splice(0)) ws.terminate();
  }
}
