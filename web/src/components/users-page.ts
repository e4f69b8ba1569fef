import { LitElement, html } from "lit";
import { customElement, property, query, state } from "lit/decorators.js";
import { repeat } from "lit/directives/repeat.js";
import { roleLabel } from "../lib/access";
import type { Principal } from "../lib/access";
import type { Api } from "../lib/api";
import { describeTeams } from "../lib/directory";
import type { Team, UserRecord } from "../lib/directory";
import { shared } from "../styles/shared";
import { page } from "../styles/page";
import "./confirm-dialog";
import type { ConfirmDialog } from "./confirm-dialog";
import "./user-dialog";
import type { UserDialog } from "./user-dialog";

/**
 * Admins' Users page: every user with role and teams; add one, change a role and teams, reset
 * a password, remove one (behind a confirmation). The server keeps the last admin from being
 * removed or demoted; its refusal shows here as it says it.
 */
@customElement("users-page")
export class UsersPage extends LitElement {
  static override styles = [shared, page];

  @property({ attribute: false }) api: Pick<Api, "listUsers" | "createUser" | "updateUser" | "removeUser"> | undefined;
  @property({ attribute: false }) teams: Team[] = [];
  /** The signed-in admin (marked "you" in the list). */
  @property({ attribute: false }) user: Principal | undefined;
  @state() private users: UserRecord[] | undefined;
  @state() private error = "";
  @query("user-dialog") private dialog!: UserDialog;
  @query("confirm-dialog") private confirm!: ConfirmDialog;

  override connectedCallback(): void {
    super.connectedCallback();
    void this.load();
  }

  private async load(): Promise<void> {
    if (!this.api) return;
    try {
      const { users } = await this.api.listUsers();
      this.users = users.sort((a, b) => a.username.localeCompare(b.username));
      this.error = "";
    } catch (error) {
      this.error = `Could not load the users: ${(error as Error).message}`;
    }
  }

  private async removeUser(user: UserRecord): Promise<void> {
    const ok = await this.confirm.ask({
      title: `Remove ${user.username}?`,
      message: "Their sessions and API tokens stop working at once and their open pages are signed out. This cannot be undone.",
      confirmLabel: "Remove user",
      danger: true,
    });
    if (!ok || !this.api) return;
    this.error = "";
    try {
      await this.api.removeUser(user.id);
      this.users = this.users?.filter((u) => u.id !== user.id);
    } catch (error) {
      this.error = `Could not remove ${user.username}: ${(error as Error).message}`;
    }
  }

  private saved(event: CustomEvent<{ user: UserRecord }>): void {
    const saved = event.detail.user;
    const others = (this.users ?? []).filter((u) => u.id !== saved.id);
    this.users = [...others, saved].sort((a, b) => a.username.localeCompare(b.username));
  }

  override render() {
    return html`
      <div class="head">
        <h1>Users</h1>
        <button id="add-user" class="primary" @click=${() => this.dialog.open("create")}>Add user</button>
      </div>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : null}
      <section>${this.renderTable()}</section>
      <user-dialog .api=${this.api} .teams=${this.teams} @user-saved=${this.saved}></user-dialog>
      <confirm-dialog></confirm-dialog>
    `;
  }

  private renderTable() {
    if (!this.users) return html`<p class="muted" role="status">Loading users…</p>`;
    return html`<div class="table">
      <table aria-label="Users">
        <thead>
          <tr>
            <th scope="col">Username</th>
            <th scope="col">Role</th>
            <th scope="col">Teams</th>
            <th scope="col"><span class="visually-hidden">Actions</span></th>
          </tr>
        </thead>
        <tbody>
          ${repeat(
            this.users,
            (u) => u.id,
            (u) =>
              html`<tr data-user-id=${u.id} data-username=${u.username}>
                <td>${u.username}${u.id === this.user?.id ? html` <span class="muted">(you)</span>` : null}</td>
                <td data-role=${u.role}>${roleLabel(u.role)}</td>
                <td data-teams>${describeTeams(this.teams, u.teams)}</td>
                <td class="actions-cell">
                  <button class="edit-user" @click=${() => this.dialog.open("edit", u)} aria-label="Change role and teams of ${u.username}">
                    Change
                  </button>
                  <button
                    class="reset-password"
                    @click=${() => this.dialog.open("password", u)}
                    aria-label="Reset the password of ${u.username}"
                  >
                    Reset password
                  </button>
                  <button class="remove-user danger" @click=${() => this.removeUser(u)} aria-label="Remove ${u.username}">Remove</button>
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
    "users-page": UsersPage;
  }
}
