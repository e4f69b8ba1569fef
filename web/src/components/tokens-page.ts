import { LitElement, css, html } from "lit";
import { customElement, property, query, state } from "lit/decorators.js";
import { repeat } from "lit/directives/repeat.js";
import { ClockController } from "../controllers/clock-controller";
import { grantableRoles, roleLabel, roleOf } from "../lib/access";
import type { Principal, Role } from "../lib/access";
import type { Api } from "../lib/api";
import { EXPIRY_CHOICES, expiresAt, formatExpiry, isExpired } from "../lib/api-tokens";
import type { ApiToken } from "../lib/directory";
import { formatAgo } from "../lib/format";
import { formField } from "../lib/form-field";
import { shared } from "../styles/shared";
import { page } from "../styles/page";
import "./confirm-dialog";
import type { ConfirmDialog } from "./confirm-dialog";

/**
 * API tokens for automation (CONTRACT §4): everyone lists, creates and revokes their own (an
 * admin sees everyone's). A new token's secret is shown once, right here, with a copy button;
 * the server keeps only its hash. Its role can be at most the creator's own.
 */
@customElement("tokens-page")
export class TokensPage extends LitElement {
  static override styles = [
    shared,
    page,
    css`
      .secret {
        display: grid;
        gap: 0.5rem;
        background: var(--warn-bg);
        border-radius: 6px;
        padding: 0.75rem;
        margin-top: 1rem;
      }
      .secret p {
        margin: 0;
      }
      .row {
        display: flex;
        gap: 0.5rem;
      }
      code {
        flex: 1;
        padding: 0.45rem 0.6rem;
        background: var(--bg);
        border: 1px solid var(--border);
        border-radius: 6px;
        word-break: break-all;
        user-select: all;
      }
      tr[data-expired] td {
        color: var(--muted);
      }
    `,
  ];

  @property({ attribute: false }) api: Pick<Api, "listTokens" | "createToken" | "revokeToken"> | undefined;
  @property({ attribute: false }) user: Principal | undefined;
  @state() private tokens: ApiToken[] | undefined;
  @state() private created: { token: string; api_token: ApiToken } | undefined;
  @state() private error = "";
  @state() private copied = "";
  @state() private busy = false;
  @query("confirm-dialog") private confirm!: ConfirmDialog;
  private readonly clock = new ClockController(this, 30_000);

  override connectedCallback(): void {
    super.connectedCallback();
    void this.load();
  }

  private async load(): Promise<void> {
    if (!this.api) return;
    try {
      this.tokens = (await this.api.listTokens()).api_tokens.sort((a, b) => b.created_at - a.created_at);
    } catch (error) {
      this.error = `Could not load the tokens: ${(error as Error).message}`;
    }
  }

  private async submit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    // Kept now: once the handler awaits, the event no longer names its target (it left the shadow root).
    const form = event.target as HTMLFormElement;
    const data = new FormData(form);
    const name = formField(data, "name").trim();
    if (!name) return void (this.error = "Give the token a name, e.g. what uses it");
    if (!this.api || this.busy) return;
    const expires = expiresAt(formField(data, "expiry"), Date.now());
    this.busy = true;
    this.error = "";
    this.copied = "";
    try {
      const created = await this.api.createToken({
        name,
        role: formField(data, "role") as Role,
        ...(expires !== undefined ? { expires_at: expires } : {}),
      });
      this.created = created;
      form.reset();
      this.tokens = [created.api_token, ...(this.tokens ?? []).filter((t) => t.id !== created.api_token.id)];
    } catch (error) {
      this.error = `Could not create the token: ${(error as Error).message}`;
    } finally {
      this.busy = false;
    }
  }

  private async revoke(token: ApiToken): Promise<void> {
    const ok = await this.confirm.ask({
      title: `Revoke ${token.name}?`,
      message: "Anything using this token is refused from now on. This cannot be undone.",
      confirmLabel: "Revoke token",
      danger: true,
    });
    if (!ok || !this.api) return;
    this.error = "";
    try {
      await this.api.revokeToken(token.id);
      this.tokens = this.tokens?.filter((t) => t.id !== token.id);
      if (this.created?.api_token.id === token.id) this.created = undefined;
    } catch (error) {
      this.error = `Could not revoke ${token.name}: ${(error as Error).message}`;
    }
  }

  private async copy(text: string): Promise<void> {
    try {
      await navigator.clipboard.writeText(text);
      this.copied = "Token copied to the clipboard.";
    } catch {
      this.copied = "Copying is not allowed here: select the token and copy it by hand.";
    }
  }

  override render() {
    const roles = grantableRoles(this.user);
    return html`
      <div class="head"><h1>API tokens</h1></div>
      <section>
        <h2>Create a token</h2>
        <p class="muted">
          For scripts and automation: send it as <code>Authorization: Bearer …</code> to the REST API. It acts as you, with at most your
          role and only on your teams, and never opens a WebSocket.
        </p>
        <form class="inline" @submit=${this.submit} novalidate>
          <div>
            <label for="token-name">Name</label>
            <input id="token-name" name="name" maxlength="100" autocomplete="off" placeholder="e.g. deploy script" />
          </div>
          <div>
            <label for="token-role">Role</label>
            <select id="token-role" name="role">
              ${roles.map((r) => html`<option value=${r} ?selected=${r === roleOf(this.user)}>${roleLabel(r)}</option>`)}
            </select>
          </div>
          <div>
            <label for="token-expiry">Expires</label>
            <select id="token-expiry" name="expiry">
              ${EXPIRY_CHOICES.map((c) => html`<option value=${c.id}>${c.days ? `in ${c.label}` : c.label}</option>`)}
            </select>
          </div>
          <button type="submit" class="primary" id="create-token" ?disabled=${this.busy}>Create token</button>
        </form>
        ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : null}
        ${this.created ? this.renderSecret(this.created.token, this.created.api_token) : null}
      </section>
      <section>
        <h2>Tokens</h2>
        ${this.renderTable()}
      </section>
      <confirm-dialog></confirm-dialog>
    `;
  }

  private renderSecret(secret: string, token: ApiToken) {
    return html`<div class="secret" data-new-token=${token.id}>
      <p><strong>${token.name}</strong>: this token is shown only once. Copy it now; if you lose it, create another.</p>
      <div class="row">
        <code data-api-token>${secret}</code>
        <button @click=${() => this.copy(secret)} aria-label="Copy token">Copy</button>
      </div>
      <p class="muted" role="status">${this.copied}</p>
      <div><button id="hide-token" @click=${() => (this.created = undefined)}>Done</button></div>
    </div>`;
  }

  private renderTable() {
    if (!this.tokens) return html`<p class="muted" role="status">Loading tokens…</p>`;
    if (this.tokens.length === 0) return html`<p class="muted" data-no-tokens>No tokens yet.</p>`;
    const now = this.clock.now;
    // An admin lists everyone's tokens: then say whose each is.
    const owners = this.tokens.some((t) => t.owner && t.owner.id !== this.user?.id);
    return html`<div class="table">
      <table aria-label="API tokens">
        <thead>
          <tr>
            <th scope="col">Name</th>
            ${owners ? html`<th scope="col">Owner</th>` : null}
            <th scope="col">Role</th>
            <th scope="col">Created</th>
            <th scope="col">Expires</th>
            <th scope="col"><span class="visually-hidden">Actions</span></th>
          </tr>
        </thead>
        <tbody>
          ${repeat(
            this.tokens,
            (t) => t.id,
            (t) =>
              html`<tr data-token-id=${t.id} data-token-name=${t.name} ?data-expired=${isExpired(t.expires_at, now)}>
                <td>${t.name}</td>
                ${owners ? html`<td data-owner>${t.owner?.username ?? ""}</td>` : null}
                <td data-role=${t.role}>${roleLabel(t.role)}</td>
                <td>${formatAgo(t.created_at, now)}</td>
                <td>${formatExpiry(t.expires_at, now)}</td>
                <td class="actions-cell">
                  <button class="revoke-token danger" @click=${() => this.revoke(t)} aria-label="Revoke ${t.name}">Revoke</button>
                </td>
              </tr>`,
          )}
        </tbody>
      </table>
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "tokens-page": TokensPage;
  }
}
