import { LitElement, css, html } from "lit";
import { customElement, property, query, state } from "lit/decorators.js";
import type { CreateRunBody, Run } from "@tether/protocol";
import type { Api } from "../lib/api";
import { splitCommandLine } from "../lib/command-line";
import { formField } from "../lib/form-field";
import { shared } from "../styles/shared";
import { deepActiveElement } from "./add-host-dialog";

/** Fired with the run the API created. */
export type RunCreatedEvent = CustomEvent<{ run: Run }>;

/**
 * "Run on N hosts": one command line (split like the console's), an optional timeout
 * (seconds), how many hosts may run it at once, and whether a failure stops the hosts not yet
 * started. Sends `POST /api/runs` with the picked hosts' ids as the target (CONTRACT §6).
 *
 * @fires run-created - {@link RunCreatedEvent} once the API accepted the run.
 */
@customElement("run-dialog")
export class RunDialog extends LitElement {
  static override styles = [
    shared,
    css`
      form {
        display: grid;
        gap: 0.8rem;
      }
      .row {
        display: grid;
        gap: 0.8rem;
        grid-template-columns: 1fr 1fr;
      }
      #run-line {
        font-family: var(--mono);
      }
      .check {
        display: flex;
        gap: 0.5rem;
        align-items: center;
        font-weight: normal;
      }
      .check input {
        width: auto;
        min-height: 0;
      }
      .hint {
        font-size: 0.85rem;
        margin: 0.25rem 0 0;
      }
      @media (max-width: 40rem) {
        .row {
          grid-template-columns: 1fr;
        }
      }
    `,
  ];

  @property({ attribute: false }) api: Pick<Api, "createRun"> | undefined;
  /** The hosts to run on. */
  @property({ attribute: false }) hostIds: readonly string[] = [];
  @state() private error = "";
  @state() private busy = false;
  @query("dialog") private dialog!: HTMLDialogElement;
  @query("#run-line") private line!: HTMLInputElement;
  private opener: Element | null = null;

  async open(): Promise<void> {
    this.error = "";
    this.opener = deepActiveElement();
    await this.updateComplete;
    this.dialog.showModal();
    this.line.focus();
  }

  close(): void {
    this.dialog.close();
  }

  private onClose(): void {
    (this.opener as HTMLElement | null)?.focus?.();
  }

  private async submit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    if (!this.api || this.busy) return;
    // Kept now: after an await the event's target is no longer the form.
    const formElement = event.target as HTMLFormElement;
    const form = new FormData(formElement);
    const parsed = splitCommandLine(formField(form, "line"));
    if (!parsed.ok) {
      this.error = parsed.error;
      return;
    }
    const body: CreateRunBody = { command: parsed.command, args: parsed.args, target: { host_ids: [...this.hostIds] } };
    const timeout = formField(form, "timeout").trim();
    if (timeout !== "") {
      const seconds = Number(timeout);
      if (!Number.isFinite(seconds) || seconds <= 0) {
        this.error = "The timeout must be a positive number of seconds.";
        return;
      }
      body.timeout_ms = Math.round(seconds * 1000);
    }
    const parallel = formField(form, "max_parallel").trim();
    if (parallel !== "") {
      const n = Number(parallel);
      if (!Number.isInteger(n) || n < 1) {
        this.error = "How many hosts run it at once must be a whole number, 1 or more.";
        return;
      }
      body.max_parallel = n;
    }
    if (form.get("stop_on_failure") !== null) body.stop_on_failure = true;
    this.busy = true;
    this.error = "";
    try {
      const { run } = await this.api.createRun(body);
      formElement.reset();
      this.dialog.close();
      this.dispatchEvent(new CustomEvent<{ run: Run }>("run-created", { detail: { run }, bubbles: true, composed: true }));
    } catch (error) {
      this.error = (error as Error).message;
    } finally {
      this.busy = false;
    }
  }

  override render() {
    const n = this.hostIds.length;
    const hosts = `${n} ${n === 1 ? "host" : "hosts"}`;
    return html`<dialog aria-labelledby="run-title" @close=${this.onClose}>
      <h2 id="run-title">Run on ${hosts}</h2>
      <form @submit=${this.submit}>
        <div>
          <label for="run-line">Command</label>
          <input
            id="run-line"
            name="line"
            autocomplete="off"
            spellcheck="false"
            autocapitalize="none"
            required
            placeholder="e.g. uptime"
            aria-describedby="run-line-hint"
          />
          <p class="hint muted" id="run-line-hint">The first word is the program, the rest its arguments; quote an argument with spaces.</p>
        </div>
        <div class="row">
          <div>
            <label for="run-timeout">Timeout (seconds)</label>
            <input id="run-timeout" name="timeout" type="number" min="1" step="any" inputmode="decimal" placeholder="the agent's default" />
          </div>
          <div>
            <label for="run-max-parallel">At most … at once</label>
            <input id="run-max-parallel" name="max_parallel" type="number" min="1" step="1" inputmode="numeric" placeholder="no limit" />
          </div>
        </div>
        <label class="check"
          ><input id="run-stop-on-failure" name="stop_on_failure" type="checkbox" /> Stop on the first failure (hosts not started yet are
          cancelled)</label
        >
        ${this.error ? html`<p class="error" role="alert" id="run-error">${this.error}</p>` : null}
        <div class="actions">
          <button type="button" @click=${() => this.close()}>Cancel</button>
          <button type="submit" class="primary" id="start-run" ?disabled=${this.busy || n === 0}>
            ${this.busy ? "Starting…" : `Run on ${hosts}`}
          </button>
        </div>
      </form>
    </dialog>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "run-dialog": RunDialog;
  }
}
