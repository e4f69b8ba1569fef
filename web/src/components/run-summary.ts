import { LitElement, css, html } from "lit";
import { customElement, property } from "lit/decorators.js";
import { statusLabel } from "../lib/format";
import { hrefFor } from "../lib/route";
import type { RunSummary } from "../lib/run-model";
import { shared } from "../styles/shared";

/** Host names listed per group before "and N more". */
const NAMES_SHOWN = 12;

/**
 * A finished run's summary: how many succeeded, failed and ended otherwise, then one row per
 * outcome, status and exit code with the hosts in it (each a link to its output).
 */
@customElement("run-summary")
export class RunSummaryElement extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: block;
      }
      .totals {
        display: flex;
        flex-wrap: wrap;
        gap: 0.5rem 1.25rem;
        margin: 0 0 0.6rem;
        font-weight: 600;
      }
      .scroll {
        overflow-x: auto;
      }
      table {
        width: 100%;
        border-collapse: collapse;
        font-size: 0.9rem;
      }
      th,
      td {
        text-align: left;
        padding: 0.35rem 0.5rem;
        border-bottom: 1px solid var(--border);
        vertical-align: top;
      }
      td[data-count] {
        font-variant-numeric: tabular-nums;
      }
      .hosts a {
        margin-right: 0.5rem;
      }
    `,
  ];

  @property() runId = "";
  @property({ attribute: false }) summary: RunSummary | undefined;

  override render() {
    const s = this.summary;
    if (!s) return null;
    return html`
      <p class="totals">
        <span data-total="succeeded">${s.succeeded} succeeded</span>
        <span data-total="failed">${s.failed} failed</span>
        <span data-total="other">${s.other} other</span>
      </p>
      <div class="scroll">
        <table>
          <caption class="visually-hidden">
            Outcome by exit code
          </caption>
          <thead>
            <tr>
              <th scope="col">Outcome</th>
              <th scope="col">Exit code</th>
              <th scope="col">Hosts</th>
              <th scope="col">Which</th>
            </tr>
          </thead>
          <tbody>
            ${s.groups.map(
              (g) =>
                html`<tr data-outcome=${g.outcome} data-status=${g.status} data-exit-code=${g.exitCode ?? "none"}>
                  <td>${statusLabel(g.status)}</td>
                  <td>${g.exitCode ?? "—"}</td>
                  <td data-count=${g.count}>${g.count}</td>
                  <td class="hosts">
                    ${g.hosts
                      .slice(0, NAMES_SHOWN)
                      .map((h) => html`<a href=${hrefFor({ view: "run", runId: this.runId, hostId: h.id })}>${h.name}</a>`)}
                    ${g.hosts.length > NAMES_SHOWN ? html`<span class="muted">and ${g.hosts.length - NAMES_SHOWN} more</span>` : null}
                  </td>
                </tr>`,
            )}
          </tbody>
        </table>
      </div>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "run-summary": RunSummaryElement;
  }
}
