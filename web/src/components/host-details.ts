import { LitElement, css, html } from "lit";
import { customElement, property } from "lit/decorators.js";
import type { Host } from "@tether/protocol";
import { teamName, teamOf } from "../lib/directory";
import type { Team } from "../lib/directory";
import { formatAgo } from "../lib/format";
import { formatMetric } from "../lib/metrics";
import { shared } from "../styles/shared";

/**
 * A host's details box: what its agent reported, its team and its metrics. For an admin the
 * team is a picker that moves the host.
 *
 * @fires team-change - `{detail: {teamId}}` when an admin picked another team.
 */
@customElement("host-details")
export class HostDetails extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: block;
      }
      section {
        background: var(--surface);
        border: 1px solid var(--border);
        border-radius: var(--radius);
        padding: 1rem;
      }
      h2 {
        font-size: 1rem;
        margin-bottom: 0.6rem;
      }
      dl {
        display: grid;
        grid-template-columns: auto 1fr;
        gap: 0.25rem 0.75rem;
        margin: 0;
        font-size: 0.9rem;
      }
      dt {
        color: var(--muted);
      }
      dd {
        margin: 0;
        overflow-wrap: anywhere;
        font-variant-numeric: tabular-nums;
      }
      .metrics-title {
        margin-top: 1rem;
      }
      select {
        width: auto;
        min-height: 2rem;
        padding: 0.2rem 0.4rem;
      }
    `,
  ];

  @property({ attribute: false }) host: Host | undefined;
  /** Current time (ms), ticked by the host view. */
  @property({ type: Number }) now = Date.now();
  @property({ attribute: false }) teams: Team[] = [];
  /** Whether the user may move the host to another team (admins). */
  @property({ type: Boolean }) movable = false;

  override render() {
    const host = this.host;
    if (!host) return null;
    const rows: [string, unknown][] = [
      ["Hostname", host.hostname],
      ["OS", [host.os, host.arch].filter(Boolean).join(" ") || undefined],
      ["Agent", host.version],
      ["Last seen", host.last_seen ? formatAgo(host.last_seen, this.now) : "never"],
      [
        "Labels",
        host.labels
          ? Object.entries(host.labels)
              .map(([k, v]) => `${k}=${v}`)
              .join(", ") || undefined
          : undefined,
      ],
      ["Id", host.id],
    ];
    const team = teamOf(host);
    const metrics = Object.entries(host.metrics ?? {});
    return html`<section aria-labelledby="details-title">
      <h2 id="details-title">Details</h2>
      <dl>
        ${rows
          .filter(([, v]) => v !== undefined)
          .map(
            ([k, v]) =>
              html`<dt>${k}</dt>
                <dd>${v}</dd>`,
          )}
        ${
          team !== undefined
            ? html`<dt>Team</dt>
                <dd data-team=${team}>${this.renderTeam(team)}</dd>`
            : null
        }
      </dl>
      ${
        metrics.length > 0
          ? html`<h2 class="metrics-title">Metrics</h2>
              <dl data-metrics>
                ${metrics.map(
                  ([k, v]) =>
                    html`<dt>${k}</dt>
                      <dd>${formatMetric(v, k)}</dd>`,
                )}
              </dl>`
          : null
      }
    </section>`;
  }

  private renderTeam(team: string) {
    if (!this.movable || this.teams.length < 2) return teamName(this.teams, team);
    const change = (event: Event) => {
      const teamId = (event.target as HTMLSelectElement).value;
      this.dispatchEvent(new CustomEvent("team-change", { detail: { teamId }, bubbles: true, composed: true }));
    };
    return html`<label class="visually-hidden" for="host-team">Team</label>
      <select id="host-team" @change=${change}>
        ${this.teams.map((t) => html`<option value=${t.id} ?selected=${t.id === team}>${t.name}</option>`)}
      </select>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "host-details": HostDetails;
  }
}
