import { LitElement, css, html } from "lit";
import type { PropertyValues } from "lit";
import { customElement, query, state } from "lit/decorators.js";
import type { User } from "@tether/protocol";
import { FleetStore } from "../fleet-store";
import { createApi } from "../lib/api";
import { parseRoute } from "../lib/route";
import type { Route } from "../lib/route";
import { shared } from "../styles/shared";
import "./connection-indicator";
import "./host-list";
import "./host-view";
import "./login-page";
import type { LoginEvent } from "./login-page";

type Phase = "loading" | "login" | "app" | "unreachable";

/** Shown on the login page when a session dies under the user. */
const SESSION_ENDED = "Your session has ended. Please sign in again.";

/**
 * The dashboard shell: decides between the login page and the app from `GET /api/session`,
 * owns the REST client and the one {@link FleetStore} (a fresh one per login), and routes
 * `#/…` hashes to the fleet or a host view.
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
        .user {
          display: none;
        }
      }
    `,
  ];

  @state() private phase: Phase = "loading";
  @state() private user: User | undefined;
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

  private enter(user: User): void {
    this.user = user;
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
            <span class="user" data-user>${this.user?.username}</span>
            <button id="logout" @click=${() => this.logout()}>Sign out</button>
            ${this.logoutError ? html`<p class="error" role="alert">${this.logoutError}</p>` : null}
          </header>
          <main tabindex="-1">${this.renderRoute()}</main>
        `;
    }
  }

  private renderRoute() {
    if (this.route.view === "host") {
      return html`<host-view
        .store=${this.store}
        .api=${this.api}
        .hostId=${this.route.hostId}
        .commandId=${this.route.commandId}
      ></host-view>`;
    }
    return html`<host-list .store=${this.store} .api=${this.api}></host-list>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "tether-app": TetherApp;
  }
}
