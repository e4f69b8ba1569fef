import { LitElement, css, html } from "lit";
import { customElement, property } from "lit/decorators.js";
import { can } from "../lib/access";
import type { Principal } from "../lib/access";
import { hrefFor } from "../lib/route";
import type { Route } from "../lib/route";
import { shared } from "../styles/shared";

/**
 * The page links under the header: Fleet, Runs, API tokens and Account for everyone; Users, Teams
 * and Audit only for those who may administer ({@link can}). On a narrow screen the row
 * scrolls sideways by itself instead of widening the page.
 */
@customElement("app-nav")
export class AppNav extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: block;
        background: var(--surface);
        border-bottom: 1px solid var(--border);
      }
      ul {
        display: flex;
        gap: 0.25rem;
        margin: 0 auto;
        padding: 0 1rem;
        max-width: 80rem;
        list-style: none;
        overflow-x: auto;
      }
      a {
        display: block;
        padding: 0.45rem 0.7rem;
        color: var(--muted);
        text-decoration: none;
        white-space: nowrap;
        border-bottom: 2px solid transparent;
      }
      a[aria-current="page"] {
        color: var(--text);
        border-bottom-color: var(--accent);
        font-weight: 600;
      }
      @media (max-width: 40rem) {
        ul {
          padding: 0 0.25rem;
        }
      }
    `,
  ];

  @property({ attribute: false }) user: Principal | undefined;
  @property({ attribute: false }) route: Route = { view: "fleet" };

  override render() {
    const admin = can(this.user, "administer");
    const links: [Route, string, boolean][] = [
      [{ view: "fleet" }, "Fleet", true],
      [{ view: "runs" }, "Runs", true],
      [{ view: "users" }, "Users", admin],
      [{ view: "teams" }, "Teams", admin],
      [{ view: "audit" }, "Audit", admin],
      [{ view: "tokens" }, "API tokens", can(this.user, "manage_own_account")],
      [{ view: "account" }, "Account", can(this.user, "manage_own_account")],
    ];
    const current = this.route.view === "host" ? "fleet" : this.route.view === "run" ? "runs" : this.route.view;
    return html`<nav aria-label="Pages">
      <ul>
        ${links
          .filter(([, , shown]) => shown)
          .map(
            ([route, label]) =>
              html`<li>
                <a href=${hrefFor(route)} data-nav=${route.view} aria-current=${current === route.view ? "page" : "false"}>${label}</a>
              </li>`,
          )}
      </ul>
    </nav>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "app-nav": AppNav;
  }
}
