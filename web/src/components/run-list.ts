import { LitElement, css, html } from "lit";
import type { PropertyValues } from "lit";
import { customElement, property, state } from "lit/decorators.js";
import { repeat } from "lit/directives/repeat.js";
import type { Run } from "@tether/protocol";
import { ClockController } from "../controllers/clock-controller";
import { FleetController } from "../controllers/fleet-controller";
import type { FleetStore } from "../fleet-store";
import type { Api } from "../lib/api";
import { formatAgo, formatCommandLine, statusLabel } from "../lib/format";
import { hrefFor } from "../lib/route";
import { COMMAND_STATUSES, runProgress, runStatusLabel } from "../lib/run-model";
import { shared } from "../styles/shared";

/** Runs asked for per page of `GET /api/runs`. */
const PAGE_SIZE = 50;

/**
 * The runs list (`#/runs`), newest first: what ran, its status and counts, who asked and when.
 * The first page comes from `GET /api/runs`; runs started or updated later arrive live
 * (`run_update`, through the store); "Show older runs" pages back with `before`.
 */
@customElement("run-list")
export class RunList extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: block;
      }
      .head {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.5rem 1rem;
        margin-bottom: 1rem;
      }
      h1 {
        font-size: 1.5rem;
        margin-right: auto;
      }
      .scroll {
        overflow-x: auto;
      }
      table {
        width: 100%;
        border-collapse: collapse;
        font-size: 0.9rem;
        background: var(--surface);
      }
      th,
      td {
        text-align: left;
        padding: 0.45rem 0.6rem;
        border-bottom: 1px solid var(--border);
        vertical-align: top;
      }
      td.command {
        font-family: var(--mono);
        overflow-wrap: anywhere;
      }
      td[data-run-status="running"] {
        color: var(--warn);
        font-weight: 600;
      }
      td[data-run-status="cancelled"] {
        color: var(--muted);
      }
      .more {
        margin-top: 0.75rem;
      }
    `,
  ];

  @property({ attribute: false }) store: FleetStore | undefined;
  @property({ attribute: false }) api: Pick<Api, "listRuns"> | undefined;
  @state() private loaded = false;
  @state() private loading = false;
  @state() private error = "";
  /** The last page was full: there may be older runs. */
  @state() private more = false;
  private readonly fleet = new FleetController(this);
  private readonly clock = new ClockController(this, 10_000);

  protected override updated(changed: PropertyValues<this>): void {
    if (changed.has("api") && this.api && !this.loaded) void this.load(undefined);
  }

  private async load(before: string | undefined): Promise<void> {
    if (!this.api || this.loading) return;
    this.loading = true;
    try {
      const { runs } = await this.api.listRuns(before ? { before, limit: PAGE_SIZE } : { limit: PAGE_SIZE });
      for (const run of runs) this.store?.rememberRun(run);
      this.more = runs.length >= PAGE_SIZE;
      this.error = "";
      this.loaded = true;
    } catch (error) {
      this.error = `Could not load the runs: ${(error as Error).message}`;
    } finally {
      this.loading = false;
    }
  }

  override render() {
    const runs = this.store?.runs() ?? [];
    return html`
      <div class="head">
        <h1>Runs</h1>
        <span class="muted" role="status">${this.loaded ? `${runs.length} ${runs.length === 1 ? "run" : "runs"}` : "Loading…"}</span>
      </div>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : null}
      ${
        this.loaded && runs.length === 0
          ? html`<p class="muted" data-empty>
              No runs yet. Pick hosts on the <a href=${hrefFor({ view: "fleet" })}>Fleet</a> page and choose “Run on N hosts”.
            </p>`
          : null
      }
      ${runs.length > 0 ? this.renderTable(runs) : null}
      ${
        this.more
          ? html`<button class="more" id="older-runs" ?disabled=${this.loading} @click=${() => this.load(runs.at(-1)?.id)}>
              ${this.loading ? "Loading…" : "Show older runs"}
            </button>`
          : null
      }
    `;
  }

  private renderTable(runs: Run[]) {
    return html`<div class="scroll">
      <table>
        <thead>
          <tr>
            <th scope="col">Command</th>
            <th scope="col">Status</th>
            <th scope="col">Hosts</th>
            <th scope="col">By</th>
            <th scope="col">Started</th>
          </tr>
        </thead>
        <tbody>
          ${repeat(
            runs,
            (run) => run.id,
            (run) => {
              const progress = runProgress(run, []);
              const counts = COMMAND_STATUSES.filter((s) => progress.counts[s] > 0)
                .map((s) => `${progress.counts[s]} ${statusLabel(s).toLowerCase()}`)
                .join(" · ");
              return html`<tr data-run-id=${run.id} data-status=${progress.status}>
                <td class="command"><a href=${hrefFor({ view: "run", runId: run.id })}>${formatCommandLine(run.command, run.args)}</a></td>
                <td data-run-status=${progress.status}>${runStatusLabel(progress.status)}</td>
                <td data-counts>${progress.total} · ${counts || "none started"}</td>
                <td data-run-by>${run.requested_by.name || run.requested_by.id}</td>
                <td>
                  <time datetime=${new Date(run.created_at).toISOString()} title=${new Date(run.created_at).toLocaleString()}
                    >${formatAgo(run.created_at, this.clock.now)}</time
                  >
                </td>
              </tr>`;
            },
          )}
        </tbody>
      </table>
    </div>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "run-list": RunList;
  }
}
