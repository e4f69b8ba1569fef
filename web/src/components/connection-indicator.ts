import { LitElement, css, html } from "lit";
import { customElement, property } from "lit/decorators.js";
import { ClockController } from "../controllers/clock-controller";
import { FleetController } from "../controllers/fleet-controller";
import type { FleetStore } from "../fleet-store";
import type { ConnectionStatus } from "../lib/fleet-socket";
import { formatLatency } from "../lib/latency";
import type { LatencySummary } from "../lib/latency";

const LABELS: Record<ConnectionStatus, string> = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  stopped: "Disconnected",
};

/**
 * Says whether the page is live. While it is not, what the page shows may be stale, and the
 * user must be able to tell. Mirrors the state in `data-state` on the element for tests.
 *
 * Next to "Live", the event latency this page actually sees on its connection: p50 / p99 of
 * event `ts` → received over the last minute (`.latency[data-p50][data-p99][data-count]`,
 * milliseconds), refreshed every second.
 */
@customElement("connection-indicator")
export class ConnectionIndicator extends LitElement {
  static override styles = css`
    :host {
      display: inline-flex;
      align-items: center;
      gap: 0.45rem;
    }
    .latency {
      font-size: 0.75rem;
      font-variant-numeric: tabular-nums;
      color: var(--muted, #57606a);
      white-space: nowrap;
    }
    @media (max-width: 40rem) {
      .latency .p50 {
        display: none;
      }
    }
    .indicator {
      display: inline-flex;
      align-items: center;
      gap: 0.4rem;
      font-size: 0.85rem;
      font-weight: 600;
      padding: 0.15rem 0.6rem;
      border-radius: 999px;
      color: var(--warn);
      background: var(--warn-bg);
    }
    .indicator::before {
      content: "";
      width: 0.55rem;
      height: 0.55rem;
      border-radius: 50%;
      background: currentColor;
    }
    .indicator[data-state="live"] {
      color: var(--online);
      background: var(--online-bg);
    }
    .indicator[data-state="stopped"] {
      color: var(--danger);
      background: var(--danger-bg);
    }
    .indicator[data-state="reconnecting"]::before {
      animation: pulse 1s ease-in-out infinite alternate;
    }
    @keyframes pulse {
      to {
        opacity: 0.25;
      }
    }
    @media (prefers-reduced-motion: reduce) {
      .indicator::before {
        animation: none !important;
      }
    }
  `;

  /** The shared fleet store whose connection this shows. */
  @property({ attribute: false }) store: FleetStore | undefined;
  private readonly fleet = new FleetController(this);
  private readonly clock = new ClockController(this);

  private get status(): ConnectionStatus {
    return this.store?.connection ?? "stopped";
  }

  protected override willUpdate(): void {
    this.dataset["state"] = this.status;
  }

  override render() {
    const status = this.status;
    return html`<span class="indicator" data-state=${status} role="status" title="Connection to the hub">${LABELS[status]}</span>${
        status === "live" && this.store ? this.renderLatency(this.store.latency(Math.max(this.clock.now, Date.now()))) : null
      }`;
  }

  private renderLatency(latency: LatencySummary) {
    const title =
      "Event latency on this page's connection: from an event's time on the server to its arrival here, " +
      `p50 and p99 over the last minute (${latency.count} events). It includes any difference between ` +
      "the server's clock and this computer's.";
    if (latency.p50 === undefined || latency.p99 === undefined)
      return html`<span class="latency" data-count="0" title=${title}>no events yet</span>`;
    return html`<span class="latency" data-count=${latency.count} data-p50=${latency.p50} data-p99=${latency.p99} title=${title}>
      <span class="p50">p50 ${formatLatency(latency.p50)} ·</span> p99 ${formatLatency(latency.p99)}
    </span>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "connection-indicator": ConnectionIndicator;
  }
}
