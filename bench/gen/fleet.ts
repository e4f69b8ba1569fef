/**
 * A fleet of minimal Tether agents in one process: connect with a token, `register`, await
 * `registered`; optionally heartbeat, and on a cut reconnect to the next hub URL with the
 * reference agent's backoff (exponential, full jitter, base 500 ms).
 */
import WebSocket from "ws";
import { createBackoff, type Backoff } from "../../packages/agent/src/backoff";
import { delay, now, pollUntil } from "../lib/clock";
import type { AgentTiming } from "./protocol";

interface Agent {
  name: string;
  token: string;
  ws: WebSocket | undefined;
  urlIndex: number;
  backoff: Backoff;
  timing: AgentTiming;
  hb: number;
}

export class Fleet {
  private agents: Agent[] = [];
  private urls: string[] = [];
  private reconnect = false;
  /** Set while closing: heartbeat timers stop rescheduling. */
  private stopping = false;
  private attempts = 0;
  private hbTimers: NodeJS.Timeout[] = [];
  /** Bench-clock times of `command` frames since the last {@link takeCommands}, and repeats of an id. */
  private commandTimes: number[] = [];
  private commandIds = new Set<string>();
  private duplicateCommands = 0;
  private labels: Record<string, string> | undefined;

  async connect(
    urls: string[],
    tokens: string[],
    names: string[],
    wave: number,
    reconnect: boolean,
    labels?: Record<string, string>,
  ): Promise<{ registered: number; failed: number; timings: AgentTiming[] }> {
    this.urls = urls;
    this.labels = labels;
    this.stopping = false;
    this.reconnect = reconnect;
    const fresh: Agent[] = tokens.map((token, i) => ({
      name: names[i]!,
      token,
      ws: undefined,
      urlIndex: 0,
      backoff: createBackoff({ baseMs: 500 }),
      timing: { name: names[i]!, dialAt: 0, regSentAt: 0, registeredAt: 0 },
      hb: 0,
    }));
    this.agents.push(...fresh);
    let failed = 0;
    // Waves: `wave` agents dial at once, the next wave starts when all of them registered.
    for (let i = 0; i < fresh.length; i += wave) {
      const results = await Promise.allSettled(fresh.slice(i, i + wave).map((a) => this.dial(a)));
      failed += results.filter((r) => r.status === "rejected").length;
    }
    return { registered: fresh.length - failed, failed, timings: fresh.map((a) => a.timing) };
  }

  /** Dial once; resolves on `registered`, rejects if the socket closes or errors first. */
  private dial(a: Agent): Promise<void> {
    this.attempts += 1;
    a.timing.dialAt = now();
    const ws = new WebSocket(this.urls[a.urlIndex % this.urls.length]!, {
      headers: { Authorization: `Bearer ${a.token}` },
      perMessageDeflate: false,
    });
    a.ws = ws;
    return new Promise<void>((resolve, reject) => {
      let done = false;
      ws.on("open", () => {
        a.timing.regSentAt = now();
        ws.send(JSON.stringify({ type: "register", payload: { hostname: a.name, ...(this.labels ? { labels: this.labels } : {}) } }));
      });
      ws.on("message", (data) => {
        const text = data.toString();
        if (text.startsWith('{"type":"command"')) return this.answer(ws, text);
        if (!text.startsWith('{"type":"registered"')) return;
        a.timing.registeredAt = now();
        a.backoff.reset();
        done = true;
        resolve();
      });
      ws.on("error", () => undefined);
      ws.on("close", (code) => {
        if (!done) reject(new Error(`agent ${a.name} closed (${code}) before registered`));
        if (a.ws !== ws || this.stopping || !this.reconnect) return;
        a.urlIndex += 1;
        setTimeout(() => void this.dial(a).catch(() => undefined), a.backoff.next());
      });
    });
  }

  /** Like an agent running `true`: the command succeeds at once (the time it arrived is kept). */
  private answer(ws: WebSocket, text: string): void {
    this.commandTimes.push(now());
    const id = (JSON.parse(text) as { payload: { command_id: string } }).payload.command_id;
    if (this.commandIds.has(id)) this.duplicateCommands += 1;
    this.commandIds.add(id);
    ws.send(JSON.stringify({ type: "command_finished", payload: { command_id: id, exit_code: 0 } }));
  }

  /** Waits until `count` commands arrived since the last call (or the timeout); returns and forgets them. */
  async takeCommands(count: number, timeoutMs: number): Promise<{ at: number[]; duplicates: number }> {
    await pollUntil(() => this.commandTimes.length >= count, timeoutMs, 5);
    const out = { at: this.commandTimes.splice(0), duplicates: this.duplicateCommands };
    this.duplicateCommands = 0;
    return out;
  }

  /** Heartbeats every `periodMs` per agent, each on its own random phase, for `durationMs`. */
  async heartbeat(periodMs: number, durationMs: number): Promise<{ sent: number }> {
    let sent = 0;
    const end = Date.now() + durationMs;
    for (const a of this.agents) {
      const beat = (): void => {
        if (Date.now() >= end || this.stopping) return;
        if (a.ws?.readyState === WebSocket.OPEN) {
          a.ws.send(JSON.stringify({ type: "heartbeat", payload: { metrics: { hb: a.hb++, t: now() } } }));
          sent += 1;
        }
        this.hbTimers.push(setTimeout(beat, periodMs));
      };
      this.hbTimers.push(setTimeout(beat, Math.random() * periodMs));
    }
    await delay(durationMs + 20);
    for (const t of this.hbTimers.splice(0)) clearTimeout(t);
    return { sent };
  }

  async waitRegistered(since: number, timeoutMs: number) {
    const isBack = (a: Agent) => a.timing.registeredAt > since;
    const complete = await pollUntil(() => this.agents.every(isBack), timeoutMs);
    const back = this.agents.filter(isBack);
    return {
      complete,
      registered: back.length,
      total: this.agents.length,
      last: back.reduce((m, a) => Math.max(m, a.timing.registeredAt), 0),
      attempts: this.attempts,
    };
  }

  close(): void {
    this.stopping = true;
    for (const t of this.hbTimers.splice(0)) clearTimeout(t);
    for (const a of this.agents) {
      const ws = a.ws;
      a.ws = undefined; // its close handler sees a stale socket and does not reconnect
      ws?.terminate();
    }
    this.agents = [];
  }
}
