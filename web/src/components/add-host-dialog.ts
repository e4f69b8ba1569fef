import { LitElement, css, html } from "lit";
import { customElement, property, query, state } from "lit/decorators.js";
import type { Host } from "@tether/protocol";
import { FleetController } from "../controllers/fleet-controller";
import type { FleetStore } from "../fleet-store";
import { agentRegistered } from "../lib/agent-command";
import type { Api } from "../lib/api";
import { DEFAULT_TEAM } from "../lib/directory";
import type { Team } from "../lib/directory";
import { hrefFor } from "../lib/route";
import { shared } from "../styles/shared";
import "./token-reveal";

/**
 * Creates a host (`POST /api/hosts`), shows its token once with the agent command, then
 * waits for the agent: "Waiting for the agent…" flips to "Connected" on the first
 * `host_update` that shows the host online and registered (with the hostname its agent sent
 * in `register`; the hub marks a host online on the socket upgrade, before `register`).
 *
 * @fires host-created - `{detail: {host}}` after the server created the host.
 */
@customElement("add-host-dialog")
export class AddHostDialog extends LitElement {
  static override styles = [
    shared,
    css`
      form {
        display: grid;
        gap: 0.75rem;
      }
      .agent-status {
        display: flex;
        align-items: center;
        gap: 0.5rem;
        font-weight: 600;
        margin: 1rem 0 0;
      }
      .agent-status[data-state="waiting"] {
        color: var(--warn);
      }
      .agent-status[data-state="connected"] {
        color: var(--online);
      }
      .spinner {
        width: 0.9rem;
        height: 0.9rem;
        border: 2px solid currentColor;
        border-right-color: transparent;
        border-radius: 50%;
        animation: spin 0.8s linear infinite;
      }
      @keyframes spin {
        to {
          transform: rotate(360deg);
        }
      }
      @media (prefers-reduced-motion: reduce) {
        .spinner {
          animation: none;
        }
      }
    `,
  ];

  @property({ attribute: false }) store: FleetStore | undefined;
  @property({ attribute: false }) api: Pick<Api, "createHost" | "signingKeys"> | undefined;
  /** Teams to pick from (CONTRACT §4); none from a server without teams, and then no picker. */
  @property({ attribute: false }) teams: Team[] = [];
  @state() private created: { host: Host; token: string } | undefined;
  /** The server's signing keys, fetched with the host so the agent command shows `--server-key` at once. */
  @state() private serverKeys: readonly string[] = [];
  @state() private error = "";
  @state() private busy = false;
  @query("dialog") private dialog!: HTMLDialogElement;
  @query("#host-name") private nameInput!: HTMLInputElement | null;
  private opener: Element | null = null;
  private readonly fleet = new FleetController(this);

  /** Opens the dialog at its first step and focuses the name field. */
  async open(): Promise<void> {
    this.opener = deepActiveElement();
    this.created = undefined;
    this.error = "";
    await this.updateComplete;
    if (this.nameInput) this.nameInput.value = "";
    this.dialog.showModal();
    this.nameInput?.focus();
  }

  close(): void {
    this.dialog.close();
  }

  private onClose(): void {
    // Give focus back to whatever opened the dialog (the "Add host" button).
    (this.opener as HTMLElement | null)?.focus?.();
  }

  private async submit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const name = this.nameInput?.value.trim() ?? "";
    if (!name) {
      this.error = "Give the host a name";
      this.nameInput?.focus();
      return;
    }
    if (!this.api || this.busy) return;
    this.busy = true;
    this.error = "";
    try {
      const team = this.renderRoot.querySelector<HTMLSelectElement>("#host-team")?.value;
      // A failed key fetch only leaves --server-key out of the command; the host still gets made.
      const [created, keys] = await Promise.all([
        this.api.createHost(name, team || undefined),
        this.api.signingKeys().catch(() => ({ keys: [] })),
      ]);
      this.serverKeys = keys.keys.map((k) => k.public_key);
      this.created = created;
      this.store?.rememberHost(created.host);
      this.dispatchEvent(new CustomEvent("host-created", { detail: { host: created.host }, bubbles: true, composed: true }));
      await this.updateComplete;
      this.renderRoot.querySelector<HTMLElement>("h2")?.focus();
    } catch (error) {
      this.error = (error as Error).message;
    } finally {
      this.busy = false;
    }
  }

  override render() {
    return html`<dialog aria-labelledby="add-title" @close=${this.onClose}>
      ${this.created ? this.renderCreated(this.created) : this.renderForm()}
    </dialog>`;
  }

  private renderForm() {
    return html`<form @submit=${this.submit}>
      <h2 id="add-title" tabindex="-1">Add a host</h2>
      <div>
        <label for="host-name">Host name</label>
        <input id="host-name" name="name" maxlength="200" autocomplete="off" placeholder="e.g. web-1" aria-describedby="host-name-hint" />
        <p class="muted" id="host-name-hint">A name for people; the agent reports the machine's hostname itself.</p>
      </div>
      ${
        this.teams.length > 0
          ? html`<div>
              <label for="host-team">Team</label>
              <select id="host-team" name="team">
                ${this.teams.map((t) => html`<option value=${t.id} ?selected=${t.id === DEFAULT_TEAM}>${t.name}</option>`)}
              </select>
            </div>`
          : null
      }
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : null}
      <div class="actions">
        <button type="button" @click=${() => this.close()}>Cancel</button>
        <button type="submit" class="primary" id="create-host" ?disabled=${this.busy}>${this.busy ? "Creating…" : "Create host"}</button>
      </div>
    </form>`;
  }

  private renderCreated({ host, token }: { host: Host; token: string }) {
    const online = agentRegistered(this.store?.host(host.id));
    return html`
      <h2 id="add-title" tabindex="-1">${host.name} is ready for its agent</h2>
      <token-reveal .token=${token} .serverKeys=${this.serverKeys}></token-reveal>
      <p class="agent-status" role="status" data-state=${online ? "connected" : "waiting"} data-host-id=${host.id}>
        ${online ? "✓ Connected" : html`<span class="spinner" aria-hidden="true"></span> Waiting for the agent…`}
      </p>
      <div class="actions">
        <a class="button" href=${hrefFor({ view: "host", hostId: host.id })} @click=${() => this.close()}>Open host</a>
        <button class="primary" @click=${() => this.close()}>Done</button>
      </div>
    `;
  }
}

/** The focused element, looking inside shadow roots (document.activeElement stops at the first host). */
export function deepActiveElement(): Element | null {
  let active = document.activeElement;
  while (active?.shadowRoot?.activeElement) active = active.shadowRoot.activeElement;
  return active;
}

declare global {
  interface HTMLElementTagNameMap {
    "add-host-dialog": AddHostDialog;
  }
}
