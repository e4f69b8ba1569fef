import { LitElement, css, html } from "lit";
import { customElement, property, query, state } from "lit/decorators.js";
import type { Command, Host } from "@tether/protocol";
import { ClockController } from "../controllers/clock-controller";
import { FleetController } from "../controllers/fleet-controller";
import type { FleetStore } from "../fleet-store";
import { can } from "../lib/access";
import type { Principal } from "../lib/access";
import type { Api } from "../lib/api";
import { teamOf } from "../lib/directory";
import type { Team } from "../lib/directory";
import { hrefFor } from "../lib/route";
import { shared } from "../styles/shared";
import "./command-console";
import "./command-form";
import "./command-history";
import "./confirm-dialog";
import "./host-details";
import type { ConfirmDialog } from "./confirm-dialog";
import "./token-reveal";

/**
 * One host: its details and metrics ({@link HostDetails}), the command line (for those who may
 * run commands), its command history and the console
 * of the selected command; token rotation and removal, each behind a confirmation.
 */
@customElement("host-view")
export class HostView extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: block;
      }
      .back {
        display: inline-block;
        margin-bottom: 0.75rem;
      }
      .title {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.5rem 0.75rem;
        margin-bottom: 1rem;
      }
      h1 {
        font-size: 1.5rem;
        overflow-wrap: anywhere;
      }
      .title .actions {
        margin: 0 0 0 auto;
      }
      .layout {
        display: grid;
        gap: 1rem;
        grid-template-columns: minmax(16rem, 22rem) minmax(0, 1fr);
        align-items: start;
      }
      section {
        background: var(--surface);
        border: 1px solid var(--border);
        border-radius: var(--radius);
        padding: 1rem;
      }
      section + section,
      host-details + section {
        margin-top: 1rem;
      }
      h2 {
        font-size: 1rem;
        margin-bottom: 0.6rem;
      }
      .console {
        display: grid;
        gap: 1rem;
      }
      .console > h2 {
        margin-bottom: 0;
      } /* the grid gap spaces it */
      /* On a narrow screen the console comes first: it is what people open a host for. */
      @media (max-width: 56rem) {
        .layout {
          grid-template-columns: minmax(0, 1fr);
        }
        .console {
          order: -1;
        }
      }
    `,
  ];

  @property({ attribute: false }) store: FleetStore | undefined;
  @property({ attribute: false }) api: Api | undefined;
  /** The signed-in user: which controls show ({@link can}; the server decides again). */
  @property({ attribute: false }) user: Principal | undefined;
  /** Every team, to name the host's and (admins) move it to another. */
  @property({ attribute: false }) teams: Team[] = [];
  @property() hostId = "";
  /** The command whose console is open, from the route. */
  @property() commandId: string | undefined;
  @state() private token: string | undefined;
  @state() private error = "";
  @query("confirm-dialog") private confirm!: ConfirmDialog;
  @query("#token-dialog") private tokenDialog!: HTMLDialogElement;
  private readonly fleet = new FleetController(this);
  private readonly clock = new ClockController(this);

  private async rotate(host: Host): Promise<void> {
    const ok = await this.confirm.ask({
      title: `Rotate the token of ${host.name}?`,
      message: "The current token stops working at once and a connected agent is disconnected. Restart the agent with the new token.",
      confirmLabel: "Rotate token",
      danger: true,
    });
    if (!ok || !this.api) return;
    this.error = "";
    try {
      this.token = (await this.api.rotateToken(host.id)).token;
      await this.updateComplete;
      this.tokenDialog.showModal();
    } catch (error) {
      this.error = `Could not rotate the token: ${(error as Error).message}`;
    }
  }

  private async removeHost(host: Host): Promise<void> {
    const ok = await this.confirm.ask({
      title: `Remove ${host.name}?`,
      message: "Its token is revoked and its agent disconnected. This cannot be undone.",
      confirmLabel: "Remove host",
      danger: true,
    });
    if (!ok || !this.api) return;
    this.error = "";
    try {
      await this.api.removeHost(host.id);
      this.store?.forgetHost(host.id);
      location.hash = hrefFor({ view: "fleet" });
    } catch (error) {
      this.error = `Could not remove the host: ${(error as Error).message}`;
    }
  }

  private async moveTo(host: Host, teamId: string): Promise<void> {
    if (!this.api || teamId === teamOf(host)) return;
    this.error = "";
    try {
      const { host: moved } = await this.api.updateHost(host.id, { team_id: teamId });
      this.store?.rememberHost(moved);
    } catch (error) {
      this.error = `Could not move the host: ${(error as Error).message}`;
    }
  }

  private opened(event: CustomEvent<{ command: Command }>): void {
    const { command } = event.detail;
    this.store?.rememberCommand(command);
    location.hash = hrefFor({ view: "host", hostId: command.host_id, commandId: command.id });
  }

  override render() {
    const host = this.store?.host(this.hostId);
    const back = html`<a class="back" href=${hrefFor({ view: "fleet" })}>← Fleet</a>`;
    if (!host) {
      const loading = !this.store?.state.loaded;
      return html`${back}
        <p class=${loading ? "muted" : "error"} role="status">
          ${loading ? "Loading host…" : "This host does not exist (it may have been removed)."}
        </p>`;
    }
    const status = host.status === "online" ? "Online" : "Offline";
    return html`
      ${back}
      <div class="title" data-host-id=${host.id}>
        <h1>${host.name}</h1>
        <span class="badge" data-status=${host.status}>${status}</span>
        ${
          can(this.user, "manage_hosts")
            ? html`<div class="actions">
                <button id="rotate-token" @click=${() => this.rotate(host)}>Rotate token</button>
                <button id="remove-host" class="danger" @click=${() => this.removeHost(host)}>Remove host</button>
              </div>`
            : null
        }
      </div>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : null}
      <div class="layout">
        <div>
          <host-details
            .host=${host}
            .now=${this.clock.now}
            .teams=${this.teams}
            ?movable=${can(this.user, "manage_hosts")}
            @team-change=${(event: CustomEvent<{ teamId: string }>) => this.moveTo(host, event.detail.teamId)}
          ></host-details>
          <section aria-labelledby="history-title">
            <h2 id="history-title">Commands</h2>
            <command-history
              .commands=${this.store?.commandsOf(host.id) ?? []}
              .selected=${this.commandId}
              .now=${this.clock.now}
            ></command-history>
          </section>
        </div>
        <section class="console" aria-labelledby="console-title">
          <h2 id="console-title">Console</h2>
          ${
            can(this.user, "dispatch", { team_id: teamOf(host) })
              ? html`<command-form
                  .api=${this.api}
                  .hostId=${host.id}
                  ?online=${host.status === "online"}
                  @command-dispatched=${this.opened}
                ></command-form>`
              : html`<p class="muted" data-read-only>Your role lets you watch this host's commands, not run them.</p>`
          }
          ${
            this.commandId
              ? html`<command-console
                  .store=${this.store}
                  .api=${this.api}
                  .commandId=${this.commandId}
                  ?cancellable=${can(this.user, "cancel", { team_id: teamOf(host) })}
                ></command-console>`
              : null
          }
        </section>
      </div>
      <confirm-dialog></confirm-dialog>
      <dialog id="token-dialog" aria-labelledby="token-title" @close=${() => (this.token = undefined)}>
        <h2 id="token-title">New token for ${host.name}</h2>
        ${this.token ? html`<token-reveal .token=${this.token}></token-reveal>` : null}
        <form method="dialog" class="actions"><button class="primary">Done</button></form>
      </dialog>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "host-view": HostView;
  }
}
