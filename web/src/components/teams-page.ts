import { LitElement, html } from "lit";
import { customElement, property, query, state } from "lit/decorators.js";
import type { Api } from "../lib/api";
import { DEFAULT_TEAM } from "../lib/directory";
import type { Team } from "../lib/directory";
import { shared } from "../styles/shared";
import { page } from "../styles/page";

/**
 * Admins' Teams page: every team and a form to add one (`POST /api/teams`). Hosts join a team
 * in the add-host dialog or on their page; users in the Users page.
 *
 * @fires teams-changed - after a team was added, so the app reloads the list every picker uses.
 */
@customElement("teams-page")
export class TeamsPage extends LitElement {
  static override styles = [shared, page];

  @property({ attribute: false }) api: Pick<Api, "createTeam"> | undefined;
  /** Every team, as the app loaded it. */
  @property({ attribute: false }) teams: Team[] = [];
  @state() private error = "";
  @state() private busy = false;
  @query("#team-name") private nameInput!: HTMLInputElement;

  private async submit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const name = this.nameInput.value.trim();
    if (!name) return void (this.error = "Give the team a name");
    if (!this.api || this.busy) return;
    this.busy = true;
    this.error = "";
    try {
      await this.api.createTeam(name);
      this.nameInput.value = "";
      this.dispatchEvent(new CustomEvent("teams-changed", { bubbles: true, composed: true }));
    } catch (error) {
      this.error = `Could not add the team: ${(error as Error).message}`;
    } finally {
      this.busy = false;
    }
  }

  override render() {
    return html`
      <div class="head"><h1>Teams</h1></div>
      <section>
        <h2>Add a team</h2>
        <form class="inline" @submit=${this.submit}>
          <div>
            <label for="team-name">Name</label>
            <input id="team-name" name="name" maxlength="64" autocomplete="off" placeholder="e.g. staging" />
          </div>
          <button type="submit" class="primary" id="create-team" ?disabled=${this.busy}>Add team</button>
        </form>
        ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : null}
      </section>
      <section>
        <h2>Teams</h2>
        <div class="table">
          <table aria-label="Teams">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Id</th>
              </tr>
            </thead>
            <tbody>
              ${this.teams.map(
                (t) =>
                  html`<tr data-team-id=${t.id} data-team-name=${t.name}>
                    <td>${t.name}${t.id === DEFAULT_TEAM ? html` <span class="muted">(always there)</span>` : null}</td>
                    <td class="mono">${t.id}</td>
                  </tr>`,
              )}
            </tbody>
          </table>
        </div>
      </section>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "teams-page": TeamsPage;
  }
}
