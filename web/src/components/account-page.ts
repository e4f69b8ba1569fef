import { LitElement, html } from "lit";
import { customElement, property, state } from "lit/decorators.js";
import { roleLabel, roleOf } from "../lib/access";
import type { Principal } from "../lib/access";
import type { Api } from "../lib/api";
import { ApiError } from "../lib/api";
import { formField } from "../lib/form-field";
import { shared } from "../styles/shared";
import { page } from "../styles/page";

const MIN_PASSWORD = 8;

/** Everyone's own account: who they are, and a password change (`POST /api/session/password`). */
@customElement("account-page")
export class AccountPage extends LitElement {
  static override styles = [shared, page];

  @property({ attribute: false }) api: Pick<Api, "changePassword"> | undefined;
  @property({ attribute: false }) user: Principal | undefined;
  @state() private error = "";
  @state() private done = false;
  @state() private busy = false;

  private async submit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const data = new FormData(form);
    const current = formField(data, "current");
    const password = formField(data, "password");
    const repeat = formField(data, "repeat");
    this.done = false;
    if (password.length < MIN_PASSWORD) return void (this.error = `The new password needs at least ${MIN_PASSWORD} characters`);
    if (password !== repeat) return void (this.error = "The two new passwords differ");
    if (!this.api || this.busy) return;
    this.busy = true;
    this.error = "";
    try {
      await this.api.changePassword(current, password);
      form.reset();
      this.done = true;
    } catch (error) {
      // 400/403 here mean the current password was wrong (the session itself is fine: a 401
      // would have signed us out).
      this.error =
        error instanceof ApiError && (error.status === 400 || error.status === 403)
          ? `Could not change the password: ${error.message}`
          : `Could not change the password: ${(error as Error).message}`;
    } finally {
      this.busy = false;
    }
  }

  override render() {
    const role = roleOf(this.user);
    return html`
      <div class="head"><h1>Account</h1></div>
      <section>
        <p>
          Signed in as
          <strong data-account-user>${this.user?.username}</strong
          >${role ? html`, <span data-account-role>${roleLabel(role)}</span>` : null}.
        </p>
      </section>
      <section>
        <h2>Change your password</h2>
        <form class="stack" @submit=${this.submit} novalidate>
          <div>
            <label for="current">Current password</label>
            <input id="current" name="current" type="password" autocomplete="current-password" />
          </div>
          <div>
            <label for="new-password">New password</label>
            <input id="new-password" name="password" type="password" autocomplete="new-password" minlength=${MIN_PASSWORD} />
          </div>
          <div>
            <label for="repeat-password">New password again</label>
            <input id="repeat-password" name="repeat" type="password" autocomplete="new-password" />
          </div>
          ${this.error ? html`<p class="error" role="alert" id="password-error">${this.error}</p>` : null}
          ${this.done ? html`<p class="ok" role="status" id="password-changed">Your password has been changed.</p>` : null}
          <div><button type="submit" class="primary" id="change-password" ?disabled=${this.busy}>Change password</button></div>
        </form>
      </section>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "account-page": AccountPage;
  }
}
