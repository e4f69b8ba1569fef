import { LitElement, css, html } from "lit";
import { customElement, property } from "lit/decorators.js";
import type { Command } from "@tether/protocol";
import { formatAgo, formatCommandLine, statusLabel } from "../lib/format";
import { hrefFor } from "../lib/route";
import { shared } from "../styles/shared";

/**
 * A host's commands, newest first, each linking to its console. Lists the commands this
 * page has seen (events since it connected, plus ones opened by link): the contract offers no
 * per-host history query, and replaying the whole event log for it would be too heavy.
 */
@customElement("command-history")
export class CommandHistory extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: block;
      }
      ol {
        list-style: none;
        margin: 0;
        padding: 0;
        display: grid;
        gap: 0.25rem;
        max-height: 24rem;
        overflow: auto;
      }
      a {
        display: grid;
        grid-template-columns: 1fr auto;
        gap: 0 0.5rem;
        padding: 0.4rem 0.6rem;
        border-radius: 6px;
        color: inherit;
        text-decoration: none;
        border: 1px solid transparent;
      }
      a:hover {
        border-color: var(--border);
      }
      a[aria-current="true"] {
        background: var(--bg);
        border-color: var(--accent);
      }
      code {
        overflow: hidden;
        text-overflow: ellipsis;
        white-space: nowrap;
      }
      .status {
        font-size: 0.8rem;
        font-weight: 600;
      }
      .status[data-status="succeeded"] {
        color: var(--online);
      }
      .status[data-status="running"],
      .status[data-status="queued"] {
        color: var(--warn);
      }
      .status[data-status="failed"],
      .status[data-status="timed_out"],
      .status[data-status="lost"],
      .status[data-status="rejected"] {
        color: var(--danger);
      }
      .when {
        grid-column: 1 / -1;
        font-size: 0.8rem;
        color: var(--muted);
      }
    `,
  ];

  @property({ attribute: false }) commands: Command[] = [];
  /** Id of the command whose console is open. */
  @property() selected: string | undefined;
  @property({ type: Number }) now = Date.now();

  override render() {
    if (this.commands.length === 0) return html`<p class="muted">No commands yet. Run one above.</p>`;
    return html`<ol aria-label="Command history">
      ${this.commands.map(
        (command) =>
          html`<li>
            <a
              href=${hrefFor({ view: "host", hostId: command.host_id, commandId: command.id })}
              aria-current=${command.id === this.selected ? "true" : "false"}
              data-command-id=${command.id}
            >
              <code>${formatCommandLine(command.command, command.args)}</code>
              <span class="status" data-status=${command.status}>${statusLabel(command.status)}</span>
              <span class="when">${formatAgo(command.created_at, this.now)}</span>
            </a>
          </li>`,
      )}
    </ol>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "command-history": CommandHistory;
  }
}
