import { LitElement, css, html } from "lit";
import type { PropertyValues } from "lit";
import { customElement, property, query, state } from "lit/decorators.js";
import { FINAL_COMMAND_STATUSES } from "@tether/protocol";
import type { Chunk, Command } from "@tether/protocol";
import { ClockController } from "../controllers/clock-controller";
import { FleetController } from "../controllers/fleet-controller";
import type { FleetStore } from "../fleet-store";
import type { Api } from "../lib/api";
import { plainText } from "../lib/ansi";
import { commandDuration, formatCommandLine, formatDuration, statusLabel } from "../lib/format";
import { SeqMerger } from "../lib/seq-merger";
import { shared } from "../styles/shared";
import "./command-output";
import type { CommandOutput } from "./command-output";

/** Least time between two snapshot reloads caused by a gap in `seq` (ms). */
const REFETCH_MIN_MS = 2000;

/**
 * One command's console: its status, exit code and duration, a Cancel button while it can
 * still be stopped, and its output from the first line on. Output comes from two sources
 * that overlap: the REST snapshot (`GET /api/commands/:id`, so a late opener sees the whole
 * output) and live `command_output` frames; a {@link SeqMerger} orders them and drops the
 * duplicates. Live frames are subscribed to before the snapshot is requested, so no chunk
 * falls between the two.
 */
@customElement("command-console")
export class CommandConsole extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: grid;
        gap: 0.6rem;
      }
      .head {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.5rem 0.75rem;
      }
      .line {
        flex: 1 1 14rem;
        font-family: var(--mono);
        font-weight: 600;
        overflow-wrap: anywhere;
        margin: 0;
      }
      .status {
        font-size: 0.8rem;
        font-weight: 600;
        padding: 0.1rem 0.55rem;
        border-radius: 999px;
        background: var(--offline-bg);
      }
      .status[data-status="running"],
      .status[data-status="queued"] {
        color: var(--warn);
        background: var(--warn-bg);
      }
      .status[data-status="succeeded"] {
        color: var(--online);
        background: var(--online-bg);
      }
      .status[data-status="failed"],
      .status[data-status="timed_out"],
      .status[data-status="lost"],
      .status[data-status="rejected"] {
        color: var(--danger);
        background: var(--danger-bg);
      }
      .summary {
        margin: 0;
        font-size: 0.9rem;
      }
      .note {
        font-size: 0.85rem;
        margin: 0;
      }
    `,
  ];

  @property({ attribute: false }) store: FleetStore | undefined;
  @property({ attribute: false }) api: Pick<Api, "getCommand" | "cancel"> | undefined;
  @property() commandId = "";
  /** Whether the user may cancel it (operators and admins of its team); the server decides again. */
  @property({ type: Boolean }) cancellable = false;
  @state() private loadError = "";
  @state() private skippedChunks = 0;
  @state() private cancelling = false;
  @state() private downloading = false;
  @query("command-output") private output!: CommandOutput;
  private readonly fleet = new FleetController(this);
  private readonly clock = new ClockController(this);
  private merger = new SeqMerger();
  private unsubscribe: (() => void)[] = [];
  private loading: Promise<void> | undefined;
  private lastFetch = 0;

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.follow(undefined);
  }

  override connectedCallback(): void {
    super.connectedCallback();
    // Reattached (e.g. moved by a re-render): start over, we missed frames meanwhile.
    if (this.hasUpdated && this.commandId) void this.updateComplete.then(() => this.follow(this.commandId));
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (changed.has("commandId") || changed.has("store")) this.follow(this.commandId || undefined);
  }

  /** Starts following a command from its first chunk (or stops, with undefined). */
  private follow(commandId: string | undefined): void {
    for (const off of this.unsubscribe) off();
    this.unsubscribe = [];
    this.merger = new SeqMerger();
    this.loadError = "";
    this.skippedChunks = 0;
    this.output?.reset();
    if (!commandId || !this.store) return;
    const store = this.store;
    this.unsubscribe.push(
      store.onOutput(commandId, (chunk) => this.receive([chunk])),
      // Events were lost (the hub resynced): the snapshot is the only way to fill the gap.
      store.onResync(() => void this.load(commandId)),
    );
    void this.load(commandId);
  }

  private receive(chunks: Iterable<Chunk>): void {
    for (const chunk of this.merger.push(chunks)) this.output.write(chunk.stream, chunk.data);
    if (this.merger.hasGap && !this.loading && Date.now() - this.lastFetch > REFETCH_MIN_MS) void this.load(this.commandId);
  }

  /** Loads the snapshot (all output so far) and merges it with what arrived live. */
  private load(commandId: string): Promise<void> {
    if (this.loading || !this.api) return this.loading ?? Promise.resolve();
    this.lastFetch = Date.now();
    const api = this.api;
    this.loading = (async () => {
      try {
        const { command, output } = await api.getCommand(commandId);
        if (commandId !== this.commandId) return;
        this.loadError = "";
        this.store?.rememberCommand(command);
        this.receive(output);
      } catch (error) {
        if (commandId !== this.commandId) return;
        this.loadError = `Could not load the earlier output: ${(error as Error).message}`;
        // Show what we have rather than hold live output back behind a gap forever.
        const { skipped, ready } = this.merger.skipGap();
        this.skippedChunks += skipped;
        for (const chunk of ready) this.output.write(chunk.stream, chunk.data);
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }

  private async cancel(): Promise<void> {
    if (!this.api || this.cancelling) return;
    this.cancelling = true;
    try {
      await this.api.cancel(this.commandId);
    } catch (error) {
      this.loadError = `Could not cancel: ${(error as Error).message}`;
    } finally {
      this.cancelling = false;
    }
  }

  /**
   * Saves the whole output as a text file, from `GET /api/commands/:id` (every chunk the server
   * kept, in `seq` order; the view keeps only its last lines): escapes removed and `\r` redraws
   * resolved, so a progress bar is its last state, not every step.
   */
  private async download(): Promise<void> {
    if (!this.api || this.downloading) return;
    this.downloading = true;
    const commandId = this.commandId;
    try {
      const { output } = await this.api.getCommand(commandId);
      const text = plainText(output.map((chunk) => chunk.data).join(""));
      const url = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
      const link = document.createElement("a");
      link.href = url;
      link.download = `tether-output-${commandId}.txt`;
      link.click();
      // The download has its own reference by the time the click returns; a minute is plenty anyway.
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (error) {
      this.loadError = `Could not download the output: ${(error as Error).message}`;
    } finally {
      this.downloading = false;
    }
  }

  override render() {
    const command = this.store?.command(this.commandId);
    return html`
      ${command ? this.renderHead(command) : html`<p class="muted" role="status">Loading command…</p>`}
      ${this.loadError ? html`<p class="error" role="alert">${this.loadError}</p>` : null}
      ${this.skippedChunks > 0 ? html`<p class="note muted">${this.skippedChunks} chunks of output could not be loaded.</p>` : null}
      <command-output placeholder=${command?.status === "queued" ? "Waiting for the host to start the command…" : "No output yet"}>
        <button
          slot="tools"
          id="download-output"
          type="button"
          title="Download the whole output as a text file"
          ?disabled=${this.downloading || !command}
          @click=${this.download}
        >
          ${this.downloading ? "Downloading…" : "Download"}
        </button>
      </command-output>
    `;
  }

  private renderHead(command: Command) {
    const final = FINAL_COMMAND_STATUSES.has(command.status);
    const duration = commandDuration(command, this.clock.now);
    return html`
      <div class="head">
        <p class="line" title="Command">$ ${formatCommandLine(command.command, command.args)}</p>
        <span class="status" data-status=${command.status}>${statusLabel(command.status)}</span>
        ${
          final || !this.cancellable
            ? null
            : html`<button class="danger" id="cancel-command" ?disabled=${this.cancelling} @click=${this.cancel}>
                ${this.cancelling ? "Cancelling…" : "Cancel"}
              </button>`
        }
      </div>
      <p class="summary muted" data-command-id=${command.id} data-status=${command.status}>
        ${final ? this.finishedSummary(command, duration) : duration !== undefined ? `Running for ${formatDuration(duration)}` : "Queued"}
      </p>
      <!-- Announces status changes only; the ticking duration above would be read out every second. -->
      <span class="visually-hidden" role="status">${final ? this.finishedSummary(command, duration) : statusLabel(command.status)}</span>
    `;
  }

  private finishedSummary(command: Command, duration: number | undefined): string {
    const parts = [statusLabel(command.status)];
    if (command.exit_code !== null) parts.push(`exit code ${command.exit_code}`);
    if (duration !== undefined) parts.push(formatDuration(duration));
    if (command.reason) parts.push(command.reason);
    return parts.join(" · ");
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "command-console": CommandConsole;
  }
}
