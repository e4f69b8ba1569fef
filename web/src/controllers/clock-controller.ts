import type { ReactiveController, ReactiveControllerHost } from "lit";

/**
 * A clock that re-renders its element every `intervalMs` (default 1 s) while connected, so
 * "3 s ago" and running durations tick without each component owning a timer.
 */
export class ClockController implements ReactiveController {
  /** The time of the last tick, ms since the epoch. */
  now = Date.now();
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly host: ReactiveControllerHost,
    private readonly intervalMs = 1000,
  ) {
    host.addController(this);
  }

  hostConnected(): void {
    this.now = Date.now();
    this.timer = setInterval(() => {
      this.now = Date.now();
      this.host.requestUpdate();
    }, this.intervalMs);
  }

  hostDisconnected(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
