import { LitElement, css, html } from "lit";
import { customElement, property, query, state } from "lit/decorators.js";
import type { Terminal } from "@xterm/xterm";
import type { OutputStream } from "@tether/protocol";
import { TerminalStream } from "../lib/terminal-stream";
import { bufferText, findCell } from "../terminal/buffer-text";
import type { CellInfo } from "../terminal/buffer-text";
import type { XtermView } from "../terminal/xterm-view";
import { shared } from "../styles/shared";

/**
 * Lines the view keeps (the rest is in the console's "Download"). xterm allocates every line
 * at the terminal's width, 12 bytes a cell, so a million lines would take 1.2 GB at 100
 * columns; 50 000 lines (what the view kept before it was a terminal) take about 60 MB at 100
 * columns, 92 MB at 160 (measured: `bench/console-terminal.ts`, ArrayBuffer memory).
 */
export const SCROLLBACK = 50_000;

/**
 * A command's output as a terminal (xterm.js): colours, `\r` redraws and cursor movement as
 * the host meant them, stderr in its own colour, search, copy, and follow/stop following.
 * The output is only ever text written to the terminal, never HTML.
 *
 * Rendered in the shadow root: the dashboard is shadow-DOM Lit throughout, so xterm's CSS
 * (bundled, adopted as a constructed stylesheet) stays scoped to this element. xterm itself
 * is loaded on first use (`terminal/xterm-view.ts`, a chunk of its own); output written
 * before it is there waits in `pending`.
 *
 * Test hooks: `data-lines` counts the newlines written to the terminal (set once xterm has
 * parsed them), `readText()` is the terminal buffer as text, `cellOf(needle)` a cell's colour,
 * `scrollState()` where the viewport is.
 */
@customElement("command-output")
export class CommandOutput extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: grid;
        /* One column no wider than its container: the terminal's own pixel width (its columns
           before the fit add-on has measured) must not push a phone's page sideways. */
        grid-template-columns: minmax(0, 1fr);
        min-width: 0;
        gap: 0.4rem;
        position: relative;
      }
      .tools {
        display: flex;
        flex-wrap: wrap;
        align-items: center;
        gap: 0.4rem;
        font-size: 0.85rem;
      }
      .tools form {
        display: flex;
        gap: 0.3rem;
        flex: 1 1 12rem;
      }
      .tools input {
        flex: 1 1 6rem;
        min-width: 0;
      }
      .tools button {
        padding: 0.2rem 0.6rem;
      }
      .pane,
      .term {
        min-width: 0;
      }
      .term {
        height: var(--output-height, 26rem);
        padding: 0.5rem;
        border-radius: var(--radius);
        background: var(--console-bg);
        overflow: hidden;
      }
      .xterm-holder {
        width: 100%;
        height: 100%;
      }
      .note {
        font-size: 0.85rem;
        margin: 0;
      }
      .pane {
        position: relative;
      }
      .placeholder {
        position: absolute;
        top: 0.6rem;
        left: 0.75rem;
        color: #8b949e;
        pointer-events: none;
        font-style: italic;
      }
      #follow-output[aria-pressed="false"] {
        font-weight: 600;
      }
      @media (max-width: 40rem) {
        .term {
          height: var(--output-height-mobile, 60vh);
        }
      }
    `,
  ];

  /** Text shown while there is no output. */
  @property() placeholder = "No output yet";
  @state() private empty = true;
  @state() private following = true;
  @state() private canScroll = false;
  @state() private searchMiss = false;
  @state() private copied = "";
  @state() private linesWritten = 0;
  @query(".term") private mount!: HTMLDivElement;
  @query("#output-search") private searchInput!: HTMLInputElement;
  private view: XtermView | undefined;
  private loading: Promise<typeof import("../terminal/xterm-view")> | undefined;
  private resizeObserver: ResizeObserver | undefined;
  private stream = new TerminalStream();
  /** Text waiting for the terminal: chunks of one task are written as one. */
  private pending = "";
  private flushQueued = false;

  /** Appends one chunk of output. Cheap: xterm parses it in the background, in time slices. */
  write(stream: OutputStream, data: string): void {
    this.pending += this.stream.push(stream, data);
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => this.flush());
  }

  /** Clears everything (another command was opened). */
  reset(): void {
    this.stream = new TerminalStream();
    this.pending = "";
    this.empty = true;
    this.following = true;
    this.canScroll = false;
    this.linesWritten = 0;
    this.dataset["lines"] = "0";
    // A fresh terminal rather than `reset()`: writes still queued in the old one must not land here.
    if (this.view) void this.createTerminal();
  }

  /** Scrolls to the newest line and follows the output again. */
  scrollToEnd(): void {
    this.terminal?.scrollToBottom();
    this.following = true;
  }

  /** Stops following: the view stays where it is while output keeps coming. */
  stopFollowing(): void {
    // xterm follows new lines unless its viewport is above the bottom: one line up is the user's scroll.
    this.terminal?.scrollLines(-1);
    this.updateFollowing();
  }

  /** The terminal buffer as text (wrapped rows joined), up to the cursor's line: what the view shows. */
  readText(): string {
    return this.terminal ? bufferText(this.terminal.buffer.active) : "";
  }

  /** The first cell of the first occurrence of `needle` in the buffer, with its colours; for tests. */
  cellOf(needle: string): CellInfo | undefined {
    return this.terminal ? findCell(this.terminal.buffer.active, needle) : undefined;
  }

  /** Where the viewport is (`viewportY` = `baseY`: at the newest line) and whether it follows; for tests. */
  scrollState(): { viewportY: number; baseY: number; following: boolean } {
    const buffer = this.terminal?.buffer.active;
    return { viewportY: buffer?.viewportY ?? 0, baseY: buffer?.baseY ?? 0, following: this.following };
  }

  /** Lines the buffer holds now (at most {@link SCROLLBACK} + rows) and its width; for measurements. */
  terminalSize(): { bufferLines: number; cols: number } {
    return { bufferLines: this.terminal?.buffer.active.length ?? 0, cols: this.terminal?.cols ?? 0 };
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.dataset["lines"] ??= "0";
    if (this.hasUpdated && !this.view) void this.createTerminal();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.disposeTerminal();
  }

  private get terminal(): Terminal | undefined {
    return this.view?.terminal;
  }

  protected override firstUpdated(): void {
    void this.createTerminal();
    this.resizeObserver = new ResizeObserver(() => this.fitNow());
    this.resizeObserver.observe(this.mount);
  }

  private async createTerminal(): Promise<void> {
    this.disposeTerminal();
    const module = await (this.loading ??= import("../terminal/xterm-view"));
    if (!this.isConnected || this.view) return;
    const style = getComputedStyle(this);
    const cssVar = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
    const background = cssVar("--console-bg", "#0d1117");
    const view = module.openXterm(this.mount, this.renderRoot as ShadowRoot, {
      convertEol: true, // a lone `\n` starts a new line at column 0, as on the host's terminal
      disableStdin: true,
      scrollback: SCROLLBACK,
      fontFamily: cssVar("--mono", "monospace"),
      fontSize: 13,
      lineHeight: 1.2,
      cursorStyle: "bar",
      cursorInactiveStyle: "none",
      // OSC 8 links from the host are shown, never followed: the output is not to navigate the page.
      linkHandler: { activate: () => undefined },
      theme: {
        background,
        foreground: cssVar("--console-text", "#e6edf3"),
        cursor: background,
        cursorAccent: background,
        selectionBackground: "#264f78",
      },
    });
    this.view = view;
    view.terminal.onScroll(() => this.updateFollowing());
    view.terminal.onWriteParsed(() => this.updateFollowing());
    this.fitNow();
    if (this.pending) this.flush();
  }

  private disposeTerminal(): void {
    this.view?.dispose();
    this.view = undefined;
  }

  private fitNow(): void {
    if (!this.terminal || !this.mount?.isConnected || this.mount.clientWidth === 0) return;
    try {
      this.view?.fit.fit();
    } catch {
      // Not measured yet (hidden): xterm measures when it becomes visible, and the observer fits then.
    }
  }

  private flush(): void {
    this.flushQueued = false;
    const terminal = this.terminal;
    if (!terminal || this.pending === "") return;
    const text = this.pending;
    this.pending = "";
    const lines = this.stream.lines;
    this.empty = false;
    // `data-lines` follows what xterm has parsed, so a test that waits for it can read the buffer.
    terminal.write(text, () => {
      if (terminal !== this.terminal) return;
      this.linesWritten = lines;
      this.dataset["lines"] = String(lines);
    });
  }

  private updateFollowing(): void {
    const buffer = this.terminal?.buffer.active;
    if (!buffer) return;
    this.following = buffer.viewportY >= buffer.baseY;
    this.canScroll = buffer.baseY > 0;
  }

  private find(forward: boolean, incremental = false): void {
    const term = this.searchInput.value;
    const search = this.view?.search;
    if (!search || term === "") {
      search?.clearDecorations();
      this.terminal?.clearSelection();
      this.searchMiss = false;
      return;
    }
    const found = forward ? search.findNext(term, { incremental }) : search.findPrevious(term);
    this.searchMiss = !found;
    if (found) this.updateFollowing();
  }

  private onSearchKey(event: KeyboardEvent): void {
    if (event.key !== "Enter") return;
    event.preventDefault();
    this.find(!event.shiftKey);
  }

  private async copy(): Promise<void> {
    const selection = this.terminal?.getSelection() ?? "";
    const text = selection || this.readText();
    try {
      await navigator.clipboard.writeText(text);
      this.copied = selection ? "Selection copied" : "Output copied";
    } catch {
      this.copied = "Copy failed (no clipboard access)";
    }
  }

  override render() {
    const hidden = Math.max(0, this.linesWritten - SCROLLBACK);
    return html`
      <div class="tools">
        <form role="search" @submit=${(e: Event) => (e.preventDefault(), this.find(true))}>
          <input
            id="output-search"
            type="search"
            placeholder="Search output"
            aria-label="Search output"
            aria-invalid=${this.searchMiss ? "true" : "false"}
            @input=${() => this.find(true, true)}
            @keydown=${this.onSearchKey}
          />
          <button id="search-prev" type="button" title="Previous match (Shift+Enter)" @click=${() => this.find(false)}>↑</button>
          <button id="search-next" type="submit" title="Next match (Enter)">↓</button>
        </form>
        ${this.searchMiss ? html`<span class="muted" data-search-miss role="status">No match</span>` : null}
        <button id="copy-output" type="button" title="Copy the selection (or all the output shown)" @click=${this.copy}>Copy</button>
        ${
          this.following
            ? html`<button
                id="follow-output"
                type="button"
                aria-pressed="true"
                title="Following the newest output; click (or scroll up) to stop"
                ?disabled=${!this.canScroll}
                @click=${this.stopFollowing}
              >
                Following
              </button>`
            : html`<button id="follow-output" type="button" aria-pressed="false" @click=${this.scrollToEnd}>↓ Follow output</button>`
        }
        <slot name="tools"></slot>
        ${this.copied ? html`<span class="muted" role="status" data-copied>${this.copied}</span>` : null}
      </div>
      ${
        hidden > 0
          ? html`<p class="note muted" data-hidden-lines=${hidden}>
              ${hidden.toLocaleString()} earlier lines are not shown (the last ${SCROLLBACK.toLocaleString()} are kept here); Download has
              all of it.
            </p>`
          : null
      }
      <div class="pane">
        <div class="term" role="log" aria-label="Command output"></div>
        ${this.empty ? html`<span class="placeholder" aria-hidden="true">${this.placeholder}</span>` : null}
      </div>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "command-output": CommandOutput;
  }
}
