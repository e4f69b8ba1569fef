import { LitElement, css, html } from "lit";
import { customElement, property } from "lit/decorators.js";
import { statusLabel } from "../lib/format";
import { COMMAND_STATUSES } from "../lib/run-model";
import type { RunProgress } from "../lib/run-model";
import { shared } from "../styles/shared";

/** A run's progress bar ("3 of 5 finished", announced) and how many hosts are in each status. */
@customElement("run-progress")
export class RunProgressElement extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: grid;
        gap: 0.5rem;
      }
      .counts {
        display: flex;
        flex-wrap: wrap;
        gap: 0.35rem 1rem;
        font-size: 0.9rem;
        margin: 0;
        padding: 0;
        list-style: none;
      }
      .counts li[data-count="0"] {
        display: none;
      }
      progress {
        width: 100%;
        height: 0.75rem;
        accent-color: var(--accent);
      }
      .bar {
        display: grid;
        gap: 0.2rem;
      }
    `,
  ];

  @property({ attribute: false }) progress: RunProgress | undefined;

  override render() {
    const p = this.progress;
    if (!p) return null;
    return html`
      <div class="bar">
        <progress id="run-progress" max=${Math.max(p.total, 1)} .value=${p.done} aria-label="Hosts finished"></progress>
        <span class="muted" data-progress=${p.done} role="status">${p.done} of ${p.total} finished</span>
      </div>
      <ul class="counts" aria-label="Hosts by status">
        ${COMMAND_STATUSES.map(
          (s) => html`<li data-status=${s} data-count=${p.counts[s]}><strong>${p.counts[s]}</strong> ${statusLabel(s).toLowerCase()}</li>`,
        )}
      </ul>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "run-progress": RunProgressElement;
  }
}
