import { LitElement, css, html } from "lit";
import { customElement, property, query, state } from "lit/decorators.js";
import { ROLES, roleLabel } from "../lib/access";
import type { Role } from "../lib/access";
import type { Api } from "../lib/api";
import type { Team, UserRecord } from "../lib/directory";
import { formField } from "../lib/form-field";
import { shared } from "../styles/shared";
import { page } from "../styles/page";
import { deepActiveElement } from "./add-host-dialog";

/** What the dialog is for: a new user, another user's role and teams, or a new password. */
export type UserDialogMode = "create" | "edit" | "password";

/** Least password length the server accepts (the same rule as `ADMIN_PASSWORD`). */
const MIN_PASSWORD = 8;

/**
 * Adds a user, changes a user's role and teams, or resets a user's password
 * (`POST /api/users`, `PATCH /api/users/:id`). An admin's teams are always every team, so the
 * team choice shows only for viewers and operators.
 *
 * @fires user-saved - `{detail: {user}}` with the user as the server now has it.
 */
@customElement("user-dialog")
export class UserDialog extends LitElement {
  static override styles = [
    shared,
    page,
    css`
      form {
        display: grid;
        gap: 0.75rem;
      }
    `,
  ];

  @property({ attribute: false }) api: Pick<Api, "createUser" | "updateUser"> | undefined;
  @property({ attribute: false }) teams: Team[] = [];
  @state() private mode: UserDialogMode = "create";
  @state() private user: UserRecord | undefined;
  @state() private chosenRole: Role = "viewer";
  @state() private allTeams = false;
  @state() private chosen = new Set<string>();
  @state() private error = "";
  @state() private busy = false;
  @query("dialog") private dialog!: HTMLDialogElement;
  private opener: Element | null = null;

  /** Opens the dialog for `mode`; `user` is the one to edit (not for "create"). */
  async open(mode: UserDialogMode, user?: UserRecord): Promise<void> {
    this.opener = deepActiveElement();
    this.mode = mode;
    this.user = user;
    this.chosenRole = user?.role ?? "viewer";
    this.allTeams = user ? user.teams === null : false;
    this.chosen = new Set(user?.teams ?? ["default"]);
    this.error = "";
    await this.updateComplete;
    // Clear the text fields by hand: form.reset() would also untick the team boxes behind
    // Lit's back (their .checked bindings would not notice), leaving them out of step.
    for (const input of this.renderRoot.querySelectorAll<HTMLInputElement>("#user-name, #user-password")) input.value = "";
    this.dialog.showModal();
    this.renderRoot.querySelector<HTMLElement>("input, select")?.focus();
  }

  private toggleTeam(id: string, on: boolean): void {
    const next = new Set(this.chosen);
    if (on) next.add(id);
    else next.delete(id);
    this.chosen = next;
  }

  /** The teams to send: null for every team (always for an admin). */
  private teamsValue(): string[] | null {
    if (this.chosenRole === "admin" || this.allTeams) return null;
    return this.teams.filter((t) => this.chosen.has(t.id)).map((t) => t.id);
  }

  private async submit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    if (!this.api || this.busy) return;
    const form = new FormData(event.target as HTMLFormElement);
    const username = formField(form, "username").trim();
    const password = formField(form, "password");
    if (this.mode === "create" && !username) return void (this.error = "Give the user a name");
    if (this.mode !== "edit" && password.length < MIN_PASSWORD) {
      return void (this.error = `The password needs at least ${MIN_PASSWORD} characters`);
    }
    const teams = this.teamsValue();
    if (this.mode !== "password" && teams !== null && teams.length === 0) {
      return void (this.error = "Choose at least one team, or every team");
    }
    this.busy = true;
    this.error = "";
    try {
      const { user } =
        this.mode === "create"
          ? await this.api.createUser({ username, password, role: this.chosenRole, teams })
          : await this.api.updateUser(this.user!.id, this.mode === "password" ? { password } : { role: this.chosenRole, teams });
      this.dispatchEvent(new CustomEvent("user-saved", { detail: { user }, bubbles: true, composed: true }));
      this.dialog.close();
    } catch (error) {
      this.error = (error as Error).message;
    } finally {
      this.busy = false;
    }
  }

  private heading(): string {
    if (this.mode === "create") return "Add a user";
    if (this.mode === "password") return `New password for ${this.user?.username ?? ""}`;
    return `Change ${this.user?.username ?? ""}`;
  }

  override render() {
    return html`<dialog aria-labelledby="user-title" @close=${() => (this.opener as HTMLElement | null)?.focus?.()}>
      <form @submit=${this.submit} novalidate>
        <h2 id="user-title">${this.heading()}</h2>
        ${
          this.mode === "create"
            ? html`<div>
                <label for="user-name">Username</label>
                <input id="user-name" name="username" autocomplete="off" autocapitalize="none" spellcheck="false" maxlength="64" />
              </div>`
            : null
        }
        ${
          this.mode !== "edit"
            ? html`<div>
                <label for="user-password">${this.mode === "create" ? "Password" : "New password"}</label>
                <input id="user-password" name="password" type="password" autocomplete="new-password" minlength=${MIN_PASSWORD} />
              </div>`
            : null
        }
        ${this.mode !== "password" ? this.renderRights() : null}
        ${this.error ? html`<p class="error" role="alert" id="user-error">${this.error}</p>` : null}
        <div class="actions">
          <button type="button" @click=${() => this.dialog.close()}>Cancel</button>
          <button type="submit" class="primary" id="save-user" ?disabled=${this.busy}>
            ${this.mode === "create" ? "Add user" : this.mode === "password" ? "Set password" : "Save"}
          </button>
        </div>
      </form>
    </dialog>`;
  }

  private renderRights() {
    return html`<div>
        <label for="user-role">Role</label>
        <select id="user-role" name="role" @change=${(e: Event) => (this.chosenRole = (e.target as HTMLSelectElement).value as Role)}>
          ${ROLES.map((r) => html`<option value=${r} ?selected=${r === this.chosenRole}>${roleLabel(r)}</option>`)}
        </select>
        <p class="muted">Viewers watch; operators also run and cancel commands; admins manage everything, on every team.</p>
      </div>
      ${
        this.chosenRole === "admin"
          ? null
          : html`<fieldset>
              <legend>Teams</legend>
              <label class="check"
                ><input
                  type="checkbox"
                  name="all-teams"
                  .checked=${this.allTeams}
                  @change=${(e: Event) => (this.allTeams = (e.target as HTMLInputElement).checked)}
                />Every team, including teams added later</label
              >
              ${this.teams.map(
                (t) =>
                  html`<label class="check"
                    ><input
                      type="checkbox"
                      name="team"
                      value=${t.id}
                      ?disabled=${this.allTeams}
                      .checked=${this.allTeams || this.chosen.has(t.id)}
                      @change=${(e: Event) => this.toggleTeam(t.id, (e.target as HTMLInputElement).checked)}
                    />${t.name}</label
                  >`,
              )}
            </fieldset>`
      }`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "user-dialog": UserDialog;
  }
}
