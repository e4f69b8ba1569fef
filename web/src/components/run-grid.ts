import { LitElement, css, html } from "lit";
import { customElement, property } from "lit/decorators.js";
import { repeat } from "lit/directives/repeat.js";
import { statusLabel } from "../lib/format";
import { hrefFor } from "../lib/route";
import type { RunTile } from "../lib/run-model";
import { shared } from "../styles/shared";

/**
 * The hosts of a run as tiles coloured by their command's status, each with the status in words
 * too (and the exit code once known), so colour is never the only cue. A tile links to that
 * host's own output (`#/runs/ID/hosts/HID`); the open one has `aria-current`.
 */
@customElement("run-grid")
export class RunGrid extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: block;
      }
      ul {
        display: grid;
        gap: 0.4rem;
        grid-template-columns: repeat(auto-fill, minmax(9.5rem, 1fr));
        list-style: none;
        margin: 0;
        padding: 0;
      }
      a {
        display: grid;
        gap: 0.1rem;
        padding: 0.4rem 0.6rem;
        border-radius: 6px;
        border: 1px solid var(--border);
        border-left-width: 0.4rem;
        background: var(--surface);
        color: var(--text);
        text-decoration: none;
        font-size: 0.85rem;
        min-height: 2.75rem;
      }
      a[aria-current="true"] {
        box-shadow: 0 0 0 2px var(--accent);
      }
      .name {
        font-weight: 600;
        overflow-wrap: anywhere;
      }
      .state {
        color: var(--muted);
        font-size: 0.8rem;
      }
      a[data-status="queued"] {
        border-left-color: var(--offline);
      }
      a[data-status="running"] {
        border-left-color: var(--warn);
        background: var(--warn-bg);
      }
      a[data-status="succeeded"] {
        border-left-color: var(--online);
        background: var(--online-bg);
      }
      a[data-status="failed"],
      a[data-status="timed_out"],
      a[data-status="lost"],
      a[data-status="rejected"] {
        border-left-color: var(--danger);
        background: var(--danger-bg);
      }
      a[data-status="cancelled"],
      a[data-status="expired"] {
        border-left-color: var(--offline);
        background: var(--offline-bg);
      }
    `,
  ];

  @property() runId = "";
  @property({ attribute: false }) tiles: readonly RunTile[] = [];
  /** The host whose output is open. */
  @property() openHostId: string | undefined;

  override render() {
    return html`<ul aria-label="Hosts of this run">
      ${repeat(
        this.tiles,
        (tile) => tile.commandId,
        (tile) => {
          const state = tileState(tile);
          return html`<li>
            <a
              class="tile"
              href=${hrefFor({ view: "run", runId: this.runId, hostId: tile.hostId })}
              data-host-id=${tile.hostId}
              data-host-name=${tile.hostName}
              data-command-id=${tile.commandId}
              data-status=${tile.status}
              title="${tile.hostName}: ${state}"
              aria-current=${this.openHostId === tile.hostId ? "true" : "false"}
            >
              <span class="name">${tile.hostName}</span>
              <span class="state">${state}</span>
            </a>
          </li>`;
        },
      )}
    </ul>`;
  }
}

/** "Running", "Failed · exit 1", "Rejected · not allowed". */
function tileState(tile: RunTile): string {
  const parts = [statusLabel(tile.status)];
  if (tile.exitCode !== null) parts.push(`exit ${tile.exitCode}`);
  else if (tile.reason) parts.push(tile.reason);
  return parts.join(" · ");
}

declare global {
  interface HTMLElementTagNameMap {
    "run-grid": RunGrid;
  }
}
