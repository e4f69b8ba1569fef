import { LitElement, css, html } from "lit";
import type { PropertyValues } from "lit";
import { customElement, property, query, state } from "lit/decorators.js";
import type { RunLine, RunLines } from "../lib/run-lines";
import { shared } from "../styles/shared";

/** How close to the bottom (px) still counts as "at the bottom" for auto-scroll. */
const STICK_SLACK = 24;

/**
 * A run's combined output: one line per `<span>`, each optionally prefixed `host | ` (the
 * `prefixes` toggle redraws). Lines come from a {@link RunLines} whose `version` the parent
 * passes on every change; each update applies only what changed, batched to one per animation
 * frame. Follows the newest line unless the user scrolled up.
 */
@customElement("run-output")
export class RunOutput extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: block;
      }
      pre {
        margin: 0;
        height: var(--run-output-height, 22rem);
        overflow: auto;
        padding: 0.75rem;
        border-radius: var(--radius);
        background: var(--console-bg);
        color: var(--console-text);
        white-space: pre-wrap;
        overflow-wrap: anywhere;
        line-height: 1.4;
      }
      .stderr {
        color: var(--console-err);
      }
      .prefix {
        color: #8b949e;
      }
      .note {
        font-size: 0.85rem;
        margin: 0 0 0.35rem;
      }
      @media (max-width: 40rem) {
        pre {
          height: 50vh;
        }
      }
    `,
  ];

  @property({ attribute: false }) lines: RunLines | undefined;
  /** The lines' `version`: a new value makes the element apply what changed. */
  @property({ type: Number }) version = 0;
  /** Prefix each line with its host's name. */
  @property({ type: Boolean }) prefixes = true;
  @state() private dropped = 0;
  @query("pre") private pre!: HTMLPreElement | null;
  private frame: number | undefined;
  private following = true;
  private drawnFor: RunLines | undefined;
  private drawnPrefixes = true;

  protected override updated(changed: PropertyValues<this>): void {
    if (changed.has("lines") || changed.has("prefixes") || changed.has("version")) this.schedule();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    if (this.frame !== undefined) cancelAnimationFrame(this.frame);
    this.frame = undefined;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    // Reattached: the <pre> may be new, draw everything again.
    this.drawnFor = undefined;
    if (this.hasUpdated) this.schedule();
  }

  private schedule(): void {
    if (this.frame === undefined) this.frame = requestAnimationFrame(() => this.flush());
  }

  private flush(): void {
    this.frame = undefined;
    const pre = this.pre;
    const lines = this.lines;
    if (!pre || !lines) return;
    if (this.drawnFor !== lines || this.drawnPrefixes !== this.prefixes) {
      pre.replaceChildren();
      lines.redraw();
      this.drawnFor = lines;
      this.drawnPrefixes = this.prefixes;
    }
    const plan = lines.flush();
    for (let i = 0; i < plan.remove && pre.firstChild; i++) pre.firstChild.remove();
    if (plan.add.length > 0) {
      const fragment = document.createDocumentFragment();
      for (const line of plan.add) fragment.append(this.lineElement(line));
      pre.append(fragment);
    }
    this.dropped = lines.dropped;
    this.dataset["lines"] = String(lines.size);
    if (this.following) pre.scrollTop = pre.scrollHeight;
  }

  private lineElement(line: RunLine): HTMLElement {
    const span = document.createElement("span");
    span.className = line.stream;
    span.dataset["stream"] = line.stream;
    span.dataset["hostId"] = line.hostId;
    if (this.prefixes) {
      const prefix = document.createElement("span");
      prefix.className = "prefix";
      prefix.textContent = `${line.host} | `;
      span.append(prefix);
    }
    span.append(`${line.text}\n`);
    return span;
  }

  private onScroll(): void {
    const pre = this.pre;
    if (pre) this.following = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - STICK_SLACK;
  }

  override render() {
    return html`
      ${
        this.dropped > 0
          ? html`<p class="note muted" data-dropped-lines=${this.dropped}>
              ${this.dropped.toLocaleString()} earlier lines are not shown (the combined output keeps the last
              ${(this.lines?.maxLines ?? 0).toLocaleString()}; each host's own output has them all).
            </p>`
          : null
      }
      <pre
        class="combined"
        role="log"
        aria-live="off"
        aria-label="Combined output of every host"
        tabindex="0"
        @scroll=${this.onScroll}
      ></pre>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "run-output": RunOutput;
  }
}
