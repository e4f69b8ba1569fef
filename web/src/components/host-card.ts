import { LitElement, css, html } from "lit";
import { customElement, property } from "lit/decorators.js";
import type { Host } from "@tether/protocol";
import { formatAgo } from "../lib/format";
import { summarizeMetrics } from "../lib/metrics";
import { hrefFor } from "../lib/route";
import { shared } from "../styles/shared";

/** Fired when the user ticks or unticks a selectable card. */
export type HostSelectEvent = CustomEvent<{ hostId: string; selected: boolean }>;

/**
 * One host in the fleet grid: status badge, identity, last seen and its headline metrics.
 * The whole card links to the host view. Mirrors `data-host-id`, `data-host-name` and
 * `data-status` on the element so tests and styles can select it.
 *
 * When `selectable` (the user may run commands), a checkbox beside the link picks the host for
 * a run; it sits outside the link, so ticking it never opens the host.
 *
 * @fires host-select - {@link HostSelectEvent} on every tick or untick.
 */
@customElement("host-card")
export class HostCard extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: block;
        position: relative;
      }
      .pick {
        position: absolute;
        top: 0.95rem;
        left: 0.9rem;
        width: 1.1rem;
        height: 1.1rem;
        min-height: 0;
        margin: 0;
        padding: 0;
        cursor: pointer;
        accent-color: var(--accent);
      }
      :host([data-selectable]) a {
        padding-left: 2.6rem;
      }
      :host([data-selected]) a {
        border-color: var(--accent);
        box-shadow: 0 0 0 1px var(--accent);
      }
      a {
        display: grid;
        gap: 0.4rem;
        height: 100%;
        padding: 0.9rem 1rem;
        color: inherit;
        text-decoration: none;
        background: var(--surface);
        border: 1px solid var(--border);
        border-radius: var(--radius);
      }
      a:hover {
        border-color: var(--muted);
      }
      .top {
        display: flex;
        align-items: center;
        justify-content: space-between;
        gap: 0.5rem;
      }
      h3 {
        font-size: 1.05rem;
        overflow-wrap: anywhere;
      }
      .meta {
        font-size: 0.85rem;
        color: var(--muted);
        overflow-wrap: anywhere;
      }
      .labels {
        display: flex;
        flex-wrap: wrap;
        gap: 0.25rem;
      }
      .label {
        font-size: 0.75rem;
        padding: 0 0.4rem;
        border: 1px solid var(--border);
        border-radius: 4px;
        color: var(--muted);
      }
      dl {
        display: flex;
        gap: 1rem;
        margin: 0;
        font-size: 0.85rem;
      }
      dt {
        color: var(--muted);
      }
      dd {
        margin: 0;
        font-variant-numeric: tabular-nums;
        font-weight: 600;
      }
      dl div {
        display: flex;
        gap: 0.3rem;
      }
    `,
  ];

  @property({ attribute: false }) host: Host | undefined;
  /** Current time (ms), ticked by the list so every card agrees. */
  @property({ type: Number }) now = Date.now();
  /** The host's team, shown when the fleet spans more than one (the list decides). */
  @property({ attribute: false }) teamName: string | undefined;
  /** Shows the checkbox that picks this host for a run. */
  @property({ type: Boolean }) selectable = false;
  /** Whether the host is picked (the list owns the selection). */
  @property({ type: Boolean }) selected = false;

  protected override willUpdate(): void {
    if (!this.host) return;
    this.dataset["hostId"] = this.host.id;
    this.dataset["hostName"] = this.host.name;
    this.dataset["status"] = this.host.status;
    this.toggleAttribute("data-selectable", this.selectable);
    this.toggleAttribute("data-selected", this.selectable && this.selected);
  }

  private onPick(event: Event): void {
    if (!this.host) return;
    const selected = (event.target as HTMLInputElement).checked;
    this.dispatchEvent(
      new CustomEvent<{ hostId: string; selected: boolean }>("host-select", {
        detail: { hostId: this.host.id, selected },
        bubbles: true,
        composed: true,
      }),
    );
  }

  override render() {
    const host = this.host;
    if (!host) return null;
    const status = host.status === "online" ? "Online" : "Offline";
    const { load, memoryPercent } = summarizeMetrics(host.metrics);
    const system = [host.hostname, [host.os, host.arch].filter(Boolean).join(" ")].filter(Boolean).join(" · ");
    return html`
      ${
        this.selectable
          ? html`<input
              type="checkbox"
              class="pick"
              data-select-host=${host.id}
              aria-label="Select ${host.name} for a run"
              .checked=${this.selected}
              @change=${this.onPick}
            />`
          : null
      }
      <a href=${hrefFor({ view: "host", hostId: host.id })} aria-label="${host.name}, ${status}">
        <div class="top">
          <h3 class="name">${host.name}</h3>
          <span class="badge" data-status=${host.status}>${status}</span>
        </div>
        ${this.teamName ? html`<div class="meta team" data-team>Team ${this.teamName}</div>` : null}
        <div class="meta system">${system || "Agent not connected yet"}</div>
        <div class="meta last-seen">
          Last seen
          ${
            host.last_seen
              ? html`<time datetime=${new Date(host.last_seen).toISOString()}>${formatAgo(host.last_seen, this.now)}</time>`
              : "never"
          }
        </div>
        ${
          host.labels && Object.keys(host.labels).length > 0
            ? html`<div class="labels">${Object.entries(host.labels).map(([k, v]) => html`<span class="label">${k}=${v}</span>`)}</div>`
            : null
        }
        ${
          load !== undefined || memoryPercent !== undefined
            ? html`<dl class="metrics">
                ${
                  load !== undefined
                    ? html`<div>
                        <dt>Load</dt>
                        <dd data-metric="load">${load.toFixed(2)}</dd>
                      </div>`
                    : null
                }
                ${
                  memoryPercent !== undefined
                    ? html`<div>
                        <dt>Memory</dt>
                        <dd data-metric="memory">${Math.round(memoryPercent)}%</dd>
                      </div>`
                    : null
                }
              </dl>`
            : null
        }
      </a>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "host-card": HostCard;
  }
}
