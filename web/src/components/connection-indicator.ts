import { LitElement, css, html } from "lit";
import { customElement, property } from "lit/decorators.js";
import { FleetController } from "../controllers/fleet-controller";
import type { FleetStore } from "../fleet-store";
import type { ConnectionStatus } from "../lib/fleet-socket";

const LABELS: Record<ConnectionStatus, string> = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  stopped: "Disconnected",
};

/**
 * Says whether the page is live. While it is not, what the page shows may be stale, and the
 * user must be able to tell. Mirrors the state in `data-state` on the element for tests.
 */
@customElement("connection-indicator")
export class ConnectionIndicator extends LitElement {
  static override styles = css`
    :host {
      display: inline-flex;
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

  private get status(): ConnectionStatus {
    return this.store?.connection ?? "stopped";
  }

  protected override willUpdate(): void {
    this.dataset["state"] = this.status;
  }

  override render() {
    const status = this.status;
    return html`<span class="indicator" data-state=${status} role="status" title="Connection to the hub">${LABELS[status]}</span>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "connection-indicator": ConnectionIndicator;
  }
}
