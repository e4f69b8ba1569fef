import { LitElement, css, html } from "lit";
import { customElement, property, query, state } from "lit/decorators.js";
import { repeat } from "lit/directives/repeat.js";
import { ClockController } from "../controllers/clock-controller";
import { FleetController } from "../controllers/fleet-controller";
import type { FleetStore } from "../fleet-store";
import { can } from "../lib/access";
import type { Principal } from "../lib/access";
import type { Api } from "../lib/api";
import { teamName, teamOf } from "../lib/directory";
import type { Team } from "../lib/directory";
import { countByStatus, matchesFilter } from "../lib/host-filter";
import { hrefFor } from "../lib/route";
import { shared } from "../styles/shared";
import "./add-host-dialog";
import type { AddHostDialog } from "./add-host-dialog";
import "./host-card";
import type { HostSelectEvent } from "./host-card";
import "./run-dialog";
import type { RunCreatedEvent, RunDialog } from "./run-dialog";

/**
 * The fleet: every host as a card, live, with a filter, counts and the "Add host" dialog. Those
 * who may run commands also pick hosts (each card's checkbox, or every host matching the filter)
 * and start a run on them ("Run on N hosts", CONTRACT §6), which opens the run's page.
 */
@customElement("host-list")
export class HostList extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: block;
      }
      .head {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.75rem 1rem;
        margin-bottom: 1rem;
      }
      h1 {
        font-size: 1.5rem;
        margin-right: auto;
      }
      .counts {
        display: flex;
        gap: 0.5rem;
        font-size: 0.9rem;
      }
      .filter {
        flex: 1 1 16rem;
        max-width: 24rem;
      }
      .grid {
        display: grid;
        gap: 0.75rem;
        grid-template-columns: repeat(auto-fill, minmax(16rem, 1fr));
        padding: 0;
        margin: 0;
        list-style: none;
      }
      .selection {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.5rem 0.75rem;
        margin: -0.25rem 0 1rem;
        font-size: 0.9rem;
      }
      .selection .count {
        margin-right: auto;
      }
      .empty {
        text-align: center;
        padding: 3rem 1rem;
        border: 2px dashed var(--border);
        border-radius: var(--radius);
        background: var(--surface);
      }
      .empty h2 {
        margin-bottom: 0.5rem;
      }
      .empty p {
        max-width: 34rem;
        margin: 0.5rem auto 1rem;
        color: var(--muted);
      }
      @media (max-width: 40rem) {
        .filter {
          max-width: none;
        }
      }
    `,
  ];

  @property({ attribute: false }) store: FleetStore | undefined;
  @property({ attribute: false }) api: Api | undefined;
  /** The signed-in user: only those who may manage hosts get "Add host". */
  @property({ attribute: false }) user: Principal | undefined;
  /** Every team, for the add-host dialog's picker and the cards' team names. */
  @property({ attribute: false }) teams: Team[] = [];
  @state() private filter = "";
  /** Ids of the hosts picked for a run. */
  @state() private selected: ReadonlySet<string> = new Set();
  @query("add-host-dialog") private dialog!: AddHostDialog;
  @query("run-dialog") private runDialog!: RunDialog;
  private readonly fleet = new FleetController(this);
  private readonly clock = new ClockController(this);

  private openDialog(): void {
    void this.dialog.open();
  }

  private onSelect(event: HostSelectEvent): void {
    const next = new Set(this.selected);
    if (event.detail.selected) next.add(event.detail.hostId);
    else next.delete(event.detail.hostId);
    this.selected = next;
  }

  /** Adds every host the filter shows to the selection. */
  private selectMatching(shown: readonly { id: string }[]): void {
    this.selected = new Set([...this.selected, ...shown.map((host) => host.id)]);
  }

  private onRunCreated(event: RunCreatedEvent): void {
    this.store?.rememberRun(event.detail.run);
    this.selected = new Set();
    location.hash = hrefFor({ view: "run", runId: event.detail.run.id });
  }

  override render() {
    const hosts = this.store?.hosts() ?? [];
    const shown = hosts.filter((host) => matchesFilter(host, this.filter));
    const { online, offline } = countByStatus(hosts);
    // Hosts removed since they were picked no longer count.
    const picked = hosts.filter((host) => this.selected.has(host.id)).map((host) => host.id);
    return html`
      <div class="head">
        <h1>Fleet</h1>
        <div class="counts" aria-label="Host counts">
          <span class="badge" data-status="online" data-count="online">${online} online</span>
          <span class="badge" data-status="offline" data-count="offline">${offline} offline</span>
        </div>
        <div class="filter">
          <label class="visually-hidden" for="filter">Filter hosts by name or label</label>
          <input
            id="filter"
            type="search"
            placeholder="Filter by name or label (env=prod)"
            .value=${this.filter}
            @input=${(event: InputEvent) => (this.filter = (event.target as HTMLInputElement).value)}
          />
        </div>
        ${can(this.user, "manage_hosts") ? html`<button id="add-host" class="primary" @click=${this.openDialog}>Add host</button>` : null}
      </div>
      ${this.canRun() && hosts.length > 0 ? this.renderSelection(picked, shown) : null} ${this.renderHosts(hosts.length, shown)}
      ${can(this.user, "manage_hosts") ? html`<add-host-dialog .store=${this.store} .api=${this.api} .teams=${this.teams}></add-host-dialog>` : null}
      ${this.canRun() ? html`<run-dialog .api=${this.api} .hostIds=${picked} @run-created=${this.onRunCreated}></run-dialog>` : null}
    `;
  }

  /** Runs need `dispatch` rights (operators and admins); the server checks every host again. */
  private canRun(): boolean {
    return can(this.user, "dispatch");
  }

  private renderSelection(picked: readonly string[], shown: readonly { id: string }[]) {
    const n = picked.length;
    const allShown = shown.length > 0 && shown.every((host) => this.selected.has(host.id));
    return html`<div class="selection" aria-label="Hosts picked for a run">
      <span class="count" data-selected-count=${n} role="status">${n === 0 ? "No host selected" : `${n} selected`}</span>
      <button id="select-matching" ?disabled=${allShown} @click=${() => this.selectMatching(shown)}>
        ${this.filter.trim() ? `Select all ${shown.length} matching` : `Select all ${shown.length}`}
      </button>
      <button id="clear-selection" ?disabled=${n === 0} @click=${() => (this.selected = new Set())}>Clear</button>
      <button id="run-on-hosts" class="primary" ?disabled=${n === 0} @click=${() => void this.runDialog.open()}>
        Run on ${n} ${n === 1 ? "host" : "hosts"}
      </button>
    </div>`;
  }

  private renderHosts(total: number, shown: ReturnType<FleetStore["hosts"]>) {
    if (!this.store?.state.loaded) return html`<p class="muted" role="status">Loading hosts…</p>`;
    if (total === 0 && !can(this.user, "manage_hosts")) {
      return html`<div class="empty" data-empty>
        <h2>No hosts here yet</h2>
        <p>Your teams have no hosts. An admin adds hosts and decides which team each belongs to.</p>
      </div>`;
    }
    if (total === 0) {
      return html`<div class="empty" data-empty>
        <h2>No hosts yet</h2>
        <p>
          Add your first server: choose <strong>Add host</strong>, give it a name, then run the agent command it shows on that server. The
          host turns <strong>Online</strong> here the moment its agent connects.
        </p>
        <button class="primary" @click=${this.openDialog}>Add your first host</button>
      </div>`;
    }
    if (shown.length === 0) {
      return html`<p class="muted" role="status" data-no-match>No host matches “${this.filter}”.</p>`;
    }
    return html`<ul class="grid" aria-label="Hosts">
      ${repeat(
        shown,
        (host) => host.id,
        (host) =>
          html`<li>
            <host-card
              .host=${host}
              ?selectable=${this.canRun()}
              ?selected=${this.selected.has(host.id)}
              @host-select=${this.onSelect}
              .now=${this.clock.now}
              .teamName=${this.teams.length > 1 ? teamName(this.teams, teamOf(host)) : undefined}
            ></host-card>
          </li>`,
      )}
    </ul>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "host-list": HostList;
  }
}
