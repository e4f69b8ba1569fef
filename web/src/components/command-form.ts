import { LitElement, css, html } from "lit";
import { customElement, property, query, state } from "lit/decorators.js";
import type { Command } from "@tether/protocol";
import type { Api } from "../lib/api";
import { splitCommandLine } from "../lib/command-line";
import { shared } from "../styles/shared";

/**
 * The line where a user types a command for one host and runs it
 * (`POST /api/hosts/:id/commands`; REST rather than the `dispatch` frame because its answer
 * names the new command, which the console then follows). Up/Down recall earlier lines.
 *
 * @fires command-dispatched - `{detail: {command}}` with the queued command the API returned.
 */
@customElement("command-form")
export class CommandForm extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: block;
      }
      form {
        display: flex;
        gap: 0.5rem;
      }
      input {
        font-family: var(--mono);
      }
      .hint {
        font-size: 0.85rem;
        margin: 0.35rem 0 0;
      }
    `,
  ];

  @property({ attribute: false }) api: Pick<Api, "dispatch"> | undefined;
  @property() hostId = "";
  /** Whether the host is online; an offline host's commands wait in the queue. */
  @property({ type: Boolean }) online = false;
  @state() private error = "";
  @state() private busy = false;
  @query("#command-input") private input!: HTMLInputElement;
  private history: string[] = [];
  private recall = 0;

  private async submit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const line = this.input.value;
    const parsed = splitCommandLine(line);
    if (!parsed.ok) {
      this.error = parsed.error;
      return;
    }
    if (!this.api || this.busy) return;
    this.busy = true;
    this.error = "";
    try {
      const { command } = await this.api.dispatch(this.hostId, parsed.command, parsed.args);
      if (this.history.at(-1) !== line) this.history.push(line);
      this.recall = this.history.length;
      this.input.value = "";
      this.dispatchEvent(
        new CustomEvent<{ command: Command }>("command-dispatched", { detail: { command }, bubbles: true, composed: true }),
      );
    } catch (error) {
      this.error = (error as Error).message;
    } finally {
      this.busy = false;
      this.input.focus();
    }
  }

  private onKeyDown(event: KeyboardEvent): void {
    if (event.key !== "ArrowUp" && event.key !== "ArrowDown") return;
    if (this.history.length === 0) return;
    event.preventDefault();
    this.recall = Math.max(0, Math.min(this.history.length, this.recall + (event.key === "ArrowUp" ? -1 : 1)));
    this.input.value = this.history[this.recall] ?? "";
  }

  override render() {
    return html`
      <form @submit=${this.submit} aria-label="Run a command">
        <label class="visually-hidden" for="command-input">Command to run</label>
        <input
          id="command-input"
          name="command"
          autocomplete="off"
          spellcheck="false"
          autocapitalize="none"
          placeholder="e.g. uptime, or ls -la /var/log"
          aria-describedby="command-hint"
          @keydown=${this.onKeyDown}
        />
        <button type="submit" class="primary" id="run-command" ?disabled=${this.busy}>Run</button>
      </form>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : null}
      <p class="hint muted" id="command-hint">
        The first word is the program, the rest its arguments; quote an argument that contains spaces.
        ${this.online ? "" : html`<strong>The host is offline:</strong> the command waits until it comes back.`}
      </p>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "command-form": CommandForm;
  }
}
