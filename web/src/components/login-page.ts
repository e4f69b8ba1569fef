import { LitElement, css, html } from "lit";
import { customElement, property, query, state } from "lit/decorators.js";
import type { Principal } from "../lib/access";
import type { Api } from "../lib/api";
import { ApiError } from "../lib/api";
import { shared } from "../styles/shared";

export type LoginEvent = CustomEvent<{ user: Principal }>;

/**
 * The sign-in form: `POST /api/session`.
 *
 * @fires login - `{detail: {user}}` once the server accepted the credentials.
 */
@customElement("login-page")
export class LoginPage extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: grid;
        place-items: center;
        min-height: 100vh;
        padding: 1rem;
      }
      form {
        width: min(22rem, 100%);
        background: var(--surface);
        border: 1px solid var(--border);
        border-radius: var(--radius);
        padding: 1.5rem;
        display: grid;
        gap: 0.9rem;
      }
      h1 {
        font-size: 1.4rem;
      }
      .notice {
        color: var(--muted);
        margin: 0;
      }
      button[type="submit"] {
        justify-content: center;
      }
    `,
  ];

  /** REST client. */
  @property({ attribute: false }) api: Pick<Api, "login"> | undefined;
  /** Why the user is here again (signed out, session ended); shown above the form. */
  @property() message = "";
  @state() private error = "";
  @state() private busy = false;
  @query("#username") private username!: HTMLInputElement;
  @query("#password") private password!: HTMLInputElement;

  protected override firstUpdated(): void {
    this.username.focus();
  }

  private async submit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    if (!this.api || this.busy) return;
    this.busy = true;
    this.error = "";
    try {
      const { user } = await this.api.login(this.username.value.trim(), this.password.value);
      this.dispatchEvent(new CustomEvent("login", { detail: { user }, bubbles: true, composed: true }));
    } catch (error) {
      this.error = loginError(error);
      this.password.value = "";
      this.password.focus();
    } finally {
      this.busy = false;
    }
  }

  override render() {
    return html`
      <form @submit=${this.submit} aria-labelledby="title">
        <h1 id="title">Sign in to Tether</h1>
        ${this.message ? html`<p class="notice" role="status" data-message>${this.message}</p>` : null}
        <div>
          <label for="username">Username</label>
          <input id="username" name="username" autocomplete="username" required autocapitalize="none" spellcheck="false" />
        </div>
        <div>
          <label for="password">Password</label>
          <input id="password" name="password" type="password" autocomplete="current-password" required />
        </div>
        ${this.error ? html`<p class="error" role="alert" id="login-error">${this.error}</p>` : null}
        <button type="submit" class="primary" ?disabled=${this.busy}>${this.busy ? "Signing in…" : "Sign in"}</button>
      </form>
    `;
  }
}

function loginError(error: unknown): string {
  if (!(error instanceof ApiError)) return "Something went wrong. Try again.";
  if (error.status === 401) return "Wrong username or password";
  if (error.status === 400) return "Enter your username and password";
  if (error.status === 403) return "This page's address is not allowed to sign in (check ALLOWED_ORIGINS on the server)";
  if (error.status === 429) return "Too many attempts. Wait a minute and try again.";
  return error.status === 0 ? error.message : `Could not sign in: ${error.message}`;
}

declare global {
  interface HTMLElementTagNameMap {
    "login-page": LoginPage;
  }
}
