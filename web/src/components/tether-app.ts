import { LitElement, css, html } from "lit";
import type { PropertyValues } from "lit";
import { customElement, query, state } from "lit/decorators.js";
import { FleetStore } from "../fleet-store";
import { can, roleLabel, roleOf } from "../lib/access";
import type { Principal } from "../lib/access";
import { createApi } from "../lib/api";
import type { Team } from "../lib/directory";
import { parseRoute } from "../lib/route";
import type { Route } from "../lib/route";
import { shared } from "../styles/shared";
import "./account-page";
import "./app-nav";
import "./audit-page";
import "./connection-indicator";
import "./host-list";
import "./host-view";
import "./login-page";
import "./run-list";
import "./run-view";
import "./teams-page";
import "./tokens-page";
import "./users-page";
import type { LoginEvent } from "./login-page";

type Phase = "loading" | "login" | "app" | "unreachable";

/** Shown on the login page when a session dies under the user. */
const SESSION_ENDED = "Your session has ended. Please sign in again.";

/**
 * The dashboard shell: decides between the login page and the app from `GET /api/session`,
 * owns the REST client and the one {@link FleetStore} (a fresh one per login), and routes
 * `#/…` hashes to the fleet, a host view, the runs list or a run.
 */
@customElement("tether-app")
export class TetherApp extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: block;
        min-height: 100vh;
      }
      header {
        display: flex;
        align-items: center;
        gap: 0.75rem;
        flex-wrap: wrap;
        padding: 0.6rem 1.25rem;
        background: var(--surface);
        border-bottom: 1px solid var(--border);
        position: sticky;
        top: 0;
        z-index: 5;
      }
      .brand {
        font-weight: 700;
        font-size: 1.1rem;
        color: var(--text);
        text-decoration: none;
        margin-right: auto;
      }
      .user {
        color: var(--muted);
        font-size: 0.9rem;
        display: inline-flex;
        gap: 0.4rem;
        align-items: center;
      }
      .role {
        font-size: 0.75rem;
        font-weight: 600;
        padding: 0.05rem 0.5rem;
        border-radius: 999px;
        border: 1px solid var(--border);
      }
      .forbidden {
        padding: 2rem 0;
      }
      main {
        padding: 1.25rem;
        max-width: 80rem;
        margin: 0 auto;
      }
      main:focus {
        outline: none;
        box-shadow: none;
      } /* focused only to move the reading position */
      .center {
        text-align: center;
        padding: 4rem 1rem;
      }
      @media (max-width: 40rem) {
        header {
          padding: 0.5rem 0.75rem;
        }
        main {
          padding: 0.75rem;
        }
        [data-user] {
          display: none;
        }
      }
    `,
  ];

  @state() private phase: Phase = "loading";
  @state() private user: Principal | undefined;
  /** Every team (`GET /api/teams`); empty from a server without teams. */
  @state() private teams: Team[] = [];
  @state() private loginMessage = "";
  @state() private route: Route = parseRoute(location.hash);
  @state() private store: FleetStore | undefined;
  @state() private logoutError = "";
  @query("main") private main!: HTMLElement | null;
  /** A sign-out is in flight (its DELETE has not answered yet). */
  private signingOut = false;

  private readonly api = createApi({ fetch: (input, init) => fetch(input, init), onUnauthorized: () => this.sessionLost() });
  private readonly onHashChange = () => (this.route = parseRoute(location.hash));
  private readonly onOnline = () => this.store?.retryNow();

  override connectedCallback(): void {
    super.connectedCallback();
    addEventListener("hashchange", this.onHashChange);
    addEventListener("online", this.onOnline);
    void this.checkSession();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    removeEventListener("hashchange", this.onHashChange);
    removeEventListener("online", this.onOnline);
    this.store?.stop();
  }

  protected override updated(changed: PropertyValues<this>): void {
    // Move focus to the new page on navigation, as a full page load would, so keyboard and
    // screen-reader users start at its top instead of on a link that no longer exists.
    const previous = changed.get("route" as keyof TetherApp) as Route | undefined;
    if (previous && previous.view !== this.route.view) this.main?.focus();
  }

  private async checkSession(): Promise<void> {
    this.phase = "loading";
    try {
      const user = await this.api.session();
      if (user) this.enter(user);
      else this.phase = "login";
    } catch {
      this.phase = "unreachable";
    }
  }

  /** Reloads the teams every picker offers (after login, and when the Teams page added one). */
  private async loadTeams(): Promise<void> {
    try {
      this.teams = (await this.api.listTeams()).teams;
    } catch {
      this.teams = []; // a server without teams (§2 only): no pickers
    }
  }

  /** The server closed the socket with 4403: the user's rights changed; read them again. */
  private async rightsChanged(): Promise<void> {
    try {
      const user = await this.api.session();
      if (!user) return this.sessionLost();
      this.user = user;
    } catch {
      // Unreachable for now: the socket's reconnect will tell, and the header keeps the old role.
    }
  }

  private enter(user: Principal): void {
    this.user = user;
    void this.loadTeams();
    this.loginMessage = "";
    this.store?.stop();
    const store = new FleetStore({
      api: this.api,
      url: (after) =>
        `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws${after ? `?after=${encodeURIComponent(after)}` : ""}`,
      createSocket: (url) => {
        const socket = new WebSocket(url);
        socket.binaryType = "arraybuffer"; // a binary frame must be readable synchronously, in order
        return socket;
      },
      onSessionLost: () => this.sessionLost(),
      onRightsChanged: () => void this.rightsChanged(),
      log: (message, detail) => console.warn(`[tether] ${message}`, detail ?? ""),
    });
    this.store = store;
    this.phase = "app";
    store.start();
  }

  private sessionLost(): void {
    // Signing out ends the session on purpose: the hub closes our socket with 4401 (often
    // before the DELETE answer arrives), which must not read as "your session has ended".
    if (this.phase !== "app" || this.signingOut) return;
    this.leave(SESSION_ENDED);
  }

  private leave(message: string): void {
    this.store?.stop();
    this.store = undefined;
    this.user = undefined;
    this.teams = [];
    this.loginMessage = message;
    this.phase = "login";
  }

  private async logout(): Promise<void> {
    if (this.signingOut) return;
    this.logoutError = "";
    this.signingOut = true;
    try {
      await this.api.logout();
    } catch (error) {
      this.logoutError = `Could not sign out: ${(error as Error).message}`;
      // The session may be gone anyway (the hub already closed the socket with 4401): check.
      if (this.store?.connection === "stopped") this.leave(SESSION_ENDED);
      return;
    } finally {
      this.signingOut = false;
    }
    this.leave("You have signed out.");
  }

  override render() {
    switch (this.phase) {
      case "loading":
        return html`<p class="center muted" role="status">Loading…</p>`;
      case "unreachable":
        return html`<div class="center" role="alert">
          <p>Cannot reach the Tether server.</p>
          <button class="primary" @click=${() => this.checkSession()}>Try again</button>
        </div>`;
      case "login":
        return html`<login-page
          .api=${this.api}
          .message=${this.loginMessage}
          @login=${(event: LoginEvent) => this.enter(event.detail.user)}
        ></login-page>`;
      case "app":
        return html`
          <header>
            <a class="brand" href="#/">Tether</a>
            <connection-indicator .store=${this.store}></connection-indicator>
            <span class="user"
              ><span data-user>${this.user?.username}</span
              ><span class="role" data-role=${roleOf(this.user) ?? ""}>${roleLabel(roleOf(this.user) ?? "viewer")}</span></span
            >
            <button id="logout" @click=${() => this.logout()}>Sign out</button>
            ${this.logoutError ? html`<p class="error" role="alert">${this.logoutError}</p>` : null}
          </header>
          <app-nav .user=${this.user} .route=${this.route}></app-nav>
          <main tabindex="-1">${this.renderRoute()}</main>
        `;
    }
  }

  private renderRoute() {
    const route = this.route;
    const admin = can(this.user, "administer");
    const adminOnly = html`<p class="forbidden muted" role="alert" data-forbidden>This page is for admins.</p>`;
    switch (route.view) {
      case "users":
        return admin ? html`<users-page .api=${this.api} .teams=${this.teams} .user=${this.user}></users-page>` : adminOnly;
      case "teams":
        return admin
          ? html`<teams-page .api=${this.api} .teams=${this.teams} @teams-changed=${() => this.loadTeams()}></teams-page>`
          : adminOnly;
      case "audit":
        return admin ? html`<audit-page .api=${this.api}></audit-page>` : adminOnly;
      case "tokens":
        return html`<tokens-page .api=${this.api} .user=${this.user}></tokens-page>`;
      case "account":
        return html`<account-page .api=${this.api} .user=${this.user}></account-page>`;
      case "runs":
        return html`<run-list .store=${this.store} .api=${this.api}></run-list>`;
      case "run":
        return html`<run-view
          .store=${this.store}
          .api=${this.api}
          .user=${this.user}
          .runId=${route.runId}
          .hostId=${route.hostId}
        ></run-view>`;
      case "fleet":
        return html`<host-list .store=${this.store} .api=${this.api} .user=${this.user} .teams=${this.teams}></host-list>`;
    }
    return html`<host-view
      .store=${this.store}
      .api=${this.api}
      .user=${this.user}
      .teams=${this.teams}
      .hostId=${route.hostId}
      .commandId=${route.commandId}
    ></host-view>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "tether-app": TetherApp;
  }
}
