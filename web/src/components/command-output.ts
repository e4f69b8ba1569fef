import { LitElement, css, html } from "lit";
import { customElement, property, query, state } from "lit/decorators.js";
import type { OutputStream } from "@tether/protocol";
import { OutputBuffer } from "../lib/output-buffer";
import type { FlushPlan } from "../lib/output-buffer";
import { shared } from "../styles/shared";

/** How close to the bottom (px) still counts as "at the bottom" for auto-scroll. */
const STICK_SLACK = 24;

/**
 * A terminal-like output pane. Text is appended imperatively, batched to one DOM update per
 * animation frame, and capped at `maxLines` lines (older ones dropped with a note), so 100k
 * lines of output neither freeze the page nor grow the DOM without bound. It follows the
 * newest line until the user scrolls up, and offers a button to jump back down.
 *
 * stderr text is in `<span class="stderr" data-stream="stderr">`, stdout likewise.
 */
@customElement("command-output")
export class CommandOutput extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: block;
        position: relative;
      }
      pre {
        margin: 0;
        height: var(--output-height, 26rem);
        overflow: auto;
        padding: 0.75rem;
        border-radius: var(--radius);
        background: var(--console-bg);
        color: var(--console-text);
        white-space: pre-wrap;
        overflow-wrap: anywhere;
        line-height: 1.4;
        tab-size: 8;
      }
      .stderr {
        color: var(--console-err);
      }
      .note {
        font-size: 0.85rem;
        margin: 0 0 0.35rem;
      }
      .placeholder {
        position: absolute;
        top: 0.75rem;
        left: 0.75rem;
        color: #8b949e;
        pointer-events: none;
        font-style: italic;
      }
      #jump {
        position: absolute;
        right: 1rem;
        bottom: 1rem;
      }
      @media (max-width: 40rem) {
        pre {
          height: var(--output-height-mobile, 60vh);
        }
      }
    `,
  ];

  /** Lines kept on screen; older lines are dropped with a note. */
  @property({ type: Number }) maxLines = 50_000;
  /** Text shown while there is no output. */
  @property() placeholder = "No output yet";
  @state() private hiddenLines = 0;
  @state() private empty = true;
  @state() private following = true;
  @query("pre") private pre!: HTMLPreElement;
  private buffer = new OutputBuffer(this.maxLines);
  private frame: number | undefined;

  /** Appends one chunk's text. Cheap: the DOM is touched on the next animation frame. */
  write(stream: OutputStream, data: string): void {
    this.buffer.push(stream, data);
    if (this.buffer.dirty && this.frame === undefined) this.frame = requestAnimationFrame(() => this.flush());
  }

  /** Clears everything (another command was opened). */
  reset(): void {
    if (this.frame !== undefined) cancelAnimationFrame(this.frame);
    this.frame = undefined;
    this.buffer = new OutputBuffer(this.maxLines);
    this.pre?.replaceChildren();
    this.hiddenLines = 0;
    this.empty = true;
    this.following = true;
    this.dataset["lines"] = "0";
  }

  /** Scrolls to the newest line and follows it again. */
  scrollToEnd(): void {
    this.following = true;
    this.pre.scrollTop = this.pre.scrollHeight;
  }

  protected override willUpdate(changed: Map<PropertyKey, unknown>): void {
    if (changed.has("maxLines") && this.buffer.maxLines !== this.maxLines) this.reset();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    if (this.frame !== undefined) cancelAnimationFrame(this.frame);
    this.frame = undefined;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.dataset["lines"] ??= "0";
    if (this.buffer.dirty && this.pre) this.frame = requestAnimationFrame(() => this.flush());
  }

  private flush(): void {
    this.frame = undefined;
    if (!this.pre) {
      // Not rendered yet: try again once it is.
      void this.updateComplete.then(() => this.flush());
      return;
    }
    const plan = this.buffer.flush();
    applyPlan(this.pre, plan);
    this.hiddenLines = plan.hiddenLines;
    this.empty = this.pre.childNodes.length === 0;
    this.dataset["lines"] = String(this.buffer.lineCount + plan.hiddenLines);
    if (this.following) this.pre.scrollTop = this.pre.scrollHeight;
  }

  private onScroll(): void {
    const pre = this.pre;
    this.following = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - STICK_SLACK;
  }

  override render() {
    return html`
      ${
        this.hiddenLines > 0
          ? html`<p class="note muted" data-hidden-lines=${this.hiddenLines}>
              ${this.hiddenLines.toLocaleString()} earlier lines are not shown (only the last ${this.maxLines.toLocaleString()} are kept
              here).
            </p>`
          : null
      }
      <pre class="output" role="log" aria-live="off" aria-label="Command output" tabindex="0" @scroll=${this.onScroll}></pre>
      ${this.empty ? html`<span class="placeholder" aria-hidden="true">${this.placeholder}</span>` : null}
      ${this.following || this.empty ? null : html`<button id="jump" @click=${this.scrollToEnd}>↓ Latest output</button>`}
    `;
  }
}

/** Mirrors an {@link OutputBuffer} flush in the DOM: drop old spans, grow the last, add new ones. */
function applyPlan(pre: HTMLPreElement, plan: FlushPlan): void {
  for (let i = 0; i < plan.remove && pre.firstChild; i++) pre.firstChild.remove();
  if (plan.extend) (pre.lastChild?.firstChild as Text | null)?.appendData(plan.extend);
  if (plan.add.length === 0) return;
  const fragment = document.createDocumentFragment();
  for (const segment of plan.add) {
    const span = document.createElement("span");
    span.className = segment.stream;
    span.dataset["stream"] = segment.stream;
    span.textContent = segment.text;
    fragment.append(span);
  }
  pre.append(fragment);
}

declare global {
  interface HTMLElementTagNameMap {
    "command-output": CommandOutput;
  }
}
