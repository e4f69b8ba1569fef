import type { Clock } from "../../src/clock";

/** A clock that moves only when told, for timer-driven unit tests. */
export class FakeClock implements Clock {
  private time = 0;
  private timers: { at: number; fn: () => void; id: NodeJS.Timeout }[] = [];
  private nextId = 1;

  now(): number {
    return this.time;
  }
  setTimeout(fn: () => void, ms: number): NodeJS.Timeout {
    const id = { id: this.nextId++ } as unknown as NodeJS.Timeout;
    this.timers.push({ at: this.time + ms, fn, id });
    return id;
  }
  clearTimeout(handle: NodeJS.Timeout | undefined): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }
  get pending(): number {
    return this.timers.length;
  }
  /** Advances time, firing due timers in order. */
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers.splice(this.timers.indexOf(due), 1);
      this.time = due.at;
      due.fn();
    }
    this.time = until;
  }
}
