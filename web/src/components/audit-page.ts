import { LitElement, css, html } from "lit";
import { customElement, property, state } from "lit/decorators.js";
import { repeat } from "lit/directives/repeat.js";
import { AuditController } from "../controllers/audit-controller";
import type { Api } from "../lib/api";
import { actorNames, describeValue, filterEntries } from "../lib/audit-feed";
import { AUDIT_ACTIONS } from "../lib/directory";
import type { AuditEntry } from "../lib/directory";
import { shared } from "../styles/shared";
import { page } from "../styles/page";

/** Most rows rendered at once; the filter narrows what is kept in memory (AuditFeed's cap). */
const MAX_ROWS = 500;

/**
 * Admins' audit log: who did what, newest first, live (polled, see {@link AuditController}),
 * filtered by actor (part of a name) and action.
 */
@customElement("audit-page")
export class AuditPage extends LitElement {
  static override styles = [
    shared,
    page,
    css`
      .filters {
        display: flex;
        flex-wrap: wrap;
        gap: 0.75rem;
        margin-bottom: 0.75rem;
      }
      .filters > div {
        flex: 1 1 12rem;
        max-width: 20rem;
      }
      time {
        white-space: nowrap;
        font-variant-numeric: tabular-nums;
      }
      .actor-type {
        font-size: 0.75rem;
      }
    `,
  ];

  @property({ attribute: false }) api: Pick<Api, "audit"> | undefined;
  @state() private actor = "";
  @state() private action = "";
  private readonly audit = new AuditController(this, () => this.api);

  override render() {
    const feed = this.audit.feed;
    const shown = filterEntries(feed.entries, { actor: this.actor, action: this.action });
    return html`
      <div class="head">
        <h1>Audit log</h1>
        <span class="muted" role="status" data-audit-count
          >${feed.loaded ? `${shown.length} of ${feed.entries.length} entries` : "Loading…"}</span
        >
      </div>
      <section>
        <div class="filters">
          <div>
            <label for="audit-actor">Actor</label>
            <input
              id="audit-actor"
              type="search"
              list="audit-actors"
              autocomplete="off"
              placeholder="Any actor"
              .value=${this.actor}
              @input=${(e: Event) => (this.actor = (e.target as HTMLInputElement).value)}
            />
            <datalist id="audit-actors">${actorNames(feed.entries).map((name) => html`<option value=${name}></option>`)}</datalist>
          </div>
          <div>
            <label for="audit-action">Action</label>
            <select id="audit-action" @change=${(e: Event) => (this.action = (e.target as HTMLSelectElement).value)}>
              <option value="">Any action</option>
              ${[...new Set(AUDIT_ACTIONS.map((a) => `${a.split(".")[0]!}.`))].map(
                (family) => html`<option value=${family} ?selected=${this.action === family}>${family}*</option>`,
              )}
              ${AUDIT_ACTIONS.map((a) => html`<option value=${a} ?selected=${this.action === a}>${a}</option>`)}
            </select>
          </div>
        </div>
        ${feed.error ? html`<p class="error" role="alert">Could not read the audit log: ${feed.error}</p>` : null}
        ${this.renderTable(shown)}
      </section>
    `;
  }

  private renderTable(shown: AuditEntry[]) {
    if (!this.audit.feed.loaded) return html`<p class="muted" role="status">Loading the audit log…</p>`;
    if (shown.length === 0) return html`<p class="muted" data-audit-empty>No entries${this.actor || this.action ? " match" : " yet"}.</p>`;
    return html`<div class="table">
      <table aria-label="Audit log">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Actor</th>
            <th scope="col">Action</th>
            <th scope="col">Target</th>
            <th scope="col">Detail</th>
          </tr>
        </thead>
        <tbody>
          ${repeat(
            shown.slice(0, MAX_ROWS),
            (e) => e.id,
            (e) =>
              html`<tr data-entry-id=${e.id} data-action=${e.action} data-actor=${e.actor.name}>
                <td><time datetime=${new Date(e.ts).toISOString()}>${new Date(e.ts).toLocaleString()}</time></td>
                <td>${e.actor.name} <span class="actor-type muted">${e.actor.type}</span></td>
                <td class="mono">${e.action}</td>
                <td class="mono">${describeValue(e.target)}</td>
                <td class="mono">${describeValue(e.detail)}</td>
              </tr>`,
          )}
        </tbody>
      </table>
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "audit-page": AuditPage;
  }
}
