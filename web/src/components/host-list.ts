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
import { shared } from "../styles/shared";
import "./add-host-dialog";
import type { AddHostDialog } from "./add-host-dialog";
import "./host-card";

/** The fleet: every host as a card, live, with a filter, counts and the "Add host" dialog. */
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
  @query("add-host-dialog") private dialog!: AddHostDialog;
  private readonly fleet = new FleetController(this);
  private readonly clock = new ClockController(this);

  private openDialog(): void {
    void this.dialog.open();
  }

  override render() {
    const hosts = this.store?.hosts() ?? [];
    const shown = hosts.filter((host) => matchesFilter(host, this.filter));
    const { online, offline } = countByStatus(hosts);
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
      ${this.renderHosts(hosts.length, shown)}
      ${can(this.user, "manage_hosts") ? html`<add-host-dialog .store=${this.store} .api=${this.api} .teams=${this.teams}></add-host-dialog>` : null}
    `;
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
