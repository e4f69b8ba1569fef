import { LitElement, css, html } from "lit";
import type { PropertyValues } from "lit";
import { customElement, property, state } from "lit/decorators.js";
import { FleetController } from "../controllers/fleet-controller";
import type { FleetStore } from "../fleet-store";
import { can } from "../lib/access";
import type { Principal } from "../lib/access";
import type { Api } from "../lib/api";
import { formatCommandLine, statusLabel } from "../lib/format";
import { hrefFor } from "../lib/route";
import { RUN_SNAPSHOT_LIMIT, RunFollower } from "../lib/run-follower";
import { COMMAND_STATUSES, filterTiles, runProgress, runStatusLabel, runTiles, summarizeRun } from "../lib/run-model";
import type { StatusFilter } from "../lib/run-model";
import { shared } from "../styles/shared";
import "./command-console";
import "./run-grid";
import "./run-output";
import "./run-progress";
import "./run-summary";

/**
 * One run (CONTRACT §6), live: what runs where and who asked, counts and a progress bar, the
 * hosts as a grid (filtered by status), the combined output of every host with `host | `
 * prefixes (toggle), one host's own console when its tile is clicked, Cancel run (operators and
 * admins), and once finished a summary grouped by exit code.
 *
 * State comes from the shared store (the commands' frames and `run_update`) seeded by
 * `GET /api/runs/:id`; output from a {@link RunFollower}.
 */
@customElement("run-view")
export class RunView extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: grid;
        gap: 1rem;
      }
      .head {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.5rem 1rem;
      }
      h1 {
        font-size: 1.4rem;
        font-family: var(--mono);
        overflow-wrap: anywhere;
        margin-right: auto;
      }
      .meta {
        font-size: 0.9rem;
        margin: 0;
      }
      .run-status {
        font-size: 0.8rem;
        font-weight: 600;
        padding: 0.1rem 0.55rem;
        border-radius: 999px;
        background: var(--offline-bg);
      }
      .run-status[data-status="running"] {
        color: var(--warn);
        background: var(--warn-bg);
      }
      .run-status[data-status="finished"] {
        color: var(--online);
        background: var(--online-bg);
      }
      section {
        display: grid;
        gap: 0.5rem;
      }
      h2 {
        font-size: 1.05rem;
      }
      .tools {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.5rem 1rem;
      }
      .tools label {
        margin: 0;
      }
      .tools select {
        width: auto;
      }
      .check {
        display: flex;
        gap: 0.4rem;
        align-items: center;
        font-weight: normal;
      }
      .check input {
        width: auto;
        min-height: 0;
      }
      .host-output {
        border: 1px solid var(--border);
        border-radius: var(--radius);
        padding: 0.75rem;
        background: var(--surface);
      }
      .section-head {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        justify-content: space-between;
        gap: 0.5rem;
      }
    `,
  ];

  @property({ attribute: false }) store: FleetStore | undefined;
  @property({ attribute: false }) api: Api | undefined;
  @property({ attribute: false }) user: Principal | undefined;
  @property() runId = "";
  /** The host whose own output is open. */
  @property() hostId: string | undefined;
  @state() private filter: StatusFilter = "all";
  @state() private prefixes = true;
  @state() private cancelling = false;
  @state() private actionError = "";
  @state() private outputVersion = 0;
  private follower: RunFollower | undefined;
  private readonly fleet = new FleetController(this);

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.follower?.stop();
    this.follower = undefined;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    if (this.hasUpdated) this.restart();
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (changed.has("runId") || changed.has("store") || changed.has("api")) this.restart();
  }

  private restart(): void {
    this.follower?.stop();
    this.follower = undefined;
    this.filter = "all";
    this.actionError = "";
    if (!this.store || !this.api || !this.runId) return;
    const follower = new RunFollower({
      store: this.store,
      api: this.api,
      runId: this.runId,
      onChange: () => {
        this.outputVersion = follower.lines.version;
        this.requestUpdate(); // also for a load error, which changes no line
      },
    });
    this.follower = follower;
    follower.start();
  }

  private async cancelRun(): Promise<void> {
    if (!this.api || this.cancelling) return;
    this.cancelling = true;
    this.actionError = "";
    try {
      await this.api.cancelRun(this.runId);
    } catch (error) {
      this.actionError = `Could not cancel the run: ${(error as Error).message}`;
    } finally {
      this.cancelling = false;
    }
  }

  override render() {
    const store = this.store;
    const follower = this.follower;
    const run = store?.run(this.runId);
    if (!store || !follower || !run) {
      return follower?.error
        ? html`<p class="error" role="alert">Could not load this run: ${follower.error}</p>
            <p><a href=${hrefFor({ view: "runs" })}>All runs</a></p>`
        : html`<p class="muted" role="status">Loading run…</p>`;
    }
    const commands = store.commandsOfRun(this.runId);
    const tiles = runTiles(commands, (id) => store.host(id)?.name);
    const progress = runProgress(run, commands);
    const shown = filterTiles(tiles, this.filter);
    const final = progress.status !== "running";
    const open = this.hostId === undefined ? undefined : tiles.find((t) => t.hostId === this.hostId);
    const canCancel = !final && can(this.user, "cancel");
    const who = run.requested_by.name || run.requested_by.id;
    return html`
      <div class="head">
        <h1 title="Command">$ ${formatCommandLine(run.command, run.args)}</h1>
        <span class="run-status" data-run-status=${progress.status} data-status=${progress.status}>${runStatusLabel(progress.status)}</span>
        ${
          canCancel
            ? html`<button
                class="danger"
                id="cancel-run"
                ?disabled=${this.cancelling || run.cancel_requested === true}
                @click=${this.cancelRun}
              >
                ${this.cancelling ? "Cancelling…" : run.cancel_requested ? "Cancel asked…" : "Cancel run"}
              </button>`
            : null
        }
      </div>
      <p class="meta muted">
        Run by <strong data-run-by>${who}</strong> ·
        <time datetime=${new Date(run.created_at).toISOString()}>${new Date(run.created_at).toLocaleString()}</time> · ${progress.total}
        ${progress.total === 1 ? "host" : "hosts"}${run.max_parallel ? ` · at most ${run.max_parallel} at once` : ""}${
          run.stop_on_failure ? " · stops on the first failure" : ""
        }
        · <a href=${hrefFor({ view: "runs" })}>All runs</a>
      </p>
      ${this.actionError ? html`<p class="error" role="alert">${this.actionError}</p>` : null}
      ${follower.error ? html`<p class="error" role="alert">Could not refresh this run: ${follower.error}</p>` : null}

      <section aria-labelledby="progress-title">
        <h2 id="progress-title" class="visually-hidden">Progress</h2>
        <run-progress .progress=${progress}></run-progress>
      </section>

      ${final ? this.renderSummary(tiles) : null}

      <section aria-labelledby="hosts-title">
        <div class="section-head">
          <h2 id="hosts-title">Hosts</h2>
          <div class="tools">
            <label for="run-status-filter">Show</label>
            <select id="run-status-filter" @change=${(e: Event) => (this.filter = (e.target as HTMLSelectElement).value as StatusFilter)}>
              <option value="all" ?selected=${this.filter === "all"}>All (${tiles.length})</option>
              ${COMMAND_STATUSES.filter((s) => progress.counts[s] > 0 || this.filter === s).map(
                (s) =>
                  html`<option value=${s} ?selected=${this.filter === s}>
                    ${statusLabel(s)} (${tiles.filter((t) => t.status === s).length})
                  </option>`,
              )}
            </select>
          </div>
        </div>
        ${
          shown.length === 0
            ? html`<p class="muted" data-no-match>
                No host ${this.filter === "all" ? "yet" : `is ${statusLabel(this.filter).toLowerCase()}`}.
              </p>`
            : html`<run-grid .runId=${this.runId} .tiles=${shown} .openHostId=${this.hostId}></run-grid>`
        }
      </section>

      ${this.hostId !== undefined ? this.renderHostOutput(open) : null}

      <section aria-labelledby="combined-title">
        <div class="section-head">
          <h2 id="combined-title">Combined output</h2>
          <label class="check"
            ><input
              id="run-prefixes"
              type="checkbox"
              .checked=${this.prefixes}
              @change=${(e: Event) => (this.prefixes = (e.target as HTMLInputElement).checked)}
            />
            Prefix each line with its host</label
          >
        </div>
        ${
          follower.notLoaded > 0
            ? html`<p class="muted" data-not-loaded=${follower.notLoaded}>
                Earlier output of ${follower.notLoaded} hosts is not shown here (only ${RUN_SNAPSHOT_LIMIT} are loaded); open a host for all
                of it.
              </p>`
            : null
        }
        <run-output .lines=${follower.lines} .version=${this.outputVersion} ?prefixes=${this.prefixes}></run-output>
      </section>
    `;
  }

  private renderSummary(tiles: ReturnType<typeof runTiles>) {
    return html`<section aria-labelledby="summary-title">
      <h2 id="summary-title">Summary</h2>
      <run-summary .runId=${this.runId} .summary=${summarizeRun(tiles)}></run-summary>
    </section>`;
  }

  private renderHostOutput(tile: ReturnType<typeof runTiles>[number] | undefined) {
    const close = html`<a id="close-host-output" href=${hrefFor({ view: "run", runId: this.runId })}>Close</a>`;
    if (!tile) {
      return html`<section class="host-output" aria-label="One host's output">
        <p class="muted">This host is not part of this run. ${close}</p>
      </section>`;
    }
    const host = this.store?.host(tile.hostId);
    return html`<section class="host-output" aria-labelledby="host-output-title" data-host-id=${tile.hostId}>
      <div class="section-head">
        <h2 id="host-output-title">Output of ${tile.hostName}</h2>
        <span><a href=${hrefFor({ view: "host", hostId: tile.hostId, commandId: tile.commandId })}>Open in host page</a> · ${close}</span>
      </div>
      <command-console
        .store=${this.store}
        .api=${this.api}
        .commandId=${tile.commandId}
        ?cancellable=${can(this.user, "cancel", host)}
      ></command-console>
    </section>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "run-view": RunView;
  }
}
