import { LitElement, css, html } from "lit";
import { customElement, property, state } from "lit/decorators.js";
import { agentCommands, agentUrl } from "../lib/agent-command";
import { shared } from "../styles/shared";

/**
 * A host token, shown once, and the exact commands that start the agent with it, each with
 * a copy button. The server keeps only a hash, so this is the user's one chance to copy it.
 */
@customElement("token-reveal")
export class TokenReveal extends LitElement {
  static override styles = [
    shared,
    css`
      :host {
        display: grid;
        gap: 0.75rem;
      }
      .warn {
        background: var(--warn-bg);
        color: var(--text);
        border-radius: 6px;
        padding: 0.5rem 0.75rem;
        margin: 0;
      }
      .row {
        display: flex;
        gap: 0.5rem;
        align-items: stretch;
      }
      pre,
      code.token {
        flex: 1;
        margin: 0;
        padding: 0.5rem 0.65rem;
        background: var(--bg);
        border: 1px solid var(--border);
        border-radius: 6px;
        white-space: pre-wrap;
        word-break: break-all;
        user-select: all;
      }
      h3 {
        font-size: 0.9rem;
        margin-bottom: 0.25rem;
      }
      .copied {
        color: var(--online);
        font-size: 0.85rem;
        min-height: 1.2em;
        margin: 0;
      }
    `,
  ];

  /** The plain token, as the API returned it. */
  @property() token = "";
  /** The server's signing public keys, for the command's `--server-key` (CONTRACT §5). */
  @property({ attribute: false }) serverKeys: readonly string[] = [];
  @state() private copied = "";

  private async copy(text: string, what: string): Promise<void> {
    try {
      await navigator.clipboard.writeText(text);
      this.copied = `${what} copied to the clipboard.`;
    } catch {
      // Clipboard needs a secure context (https or localhost); the text is selectable anyway.
      this.copied = "Copying is not allowed here: select the text and copy it by hand.";
    }
  }

  override render() {
    const url = agentUrl(location);
    const commands = agentCommands(url, this.token, this.serverKeys);
    return html`
      <p class="warn">This token is shown only once. Copy it now; if you lose it, rotate the token.</p>
      <div>
        <h3 id="token-label">Token</h3>
        <div class="row">
          <code class="token" data-token aria-labelledby="token-label">${this.token}</code>
          <button @click=${() => this.copy(this.token, "Token")} aria-label="Copy token">Copy</button>
        </div>
      </div>
      <div>
        <h3 id="npm-label">Run the agent on the server (from a Tether checkout)</h3>
        <div class="row">
          <pre class="agent-command" data-command="npm" aria-labelledby="npm-label">${commands.npm}</pre>
          <button @click=${() => this.copy(commands.npm, "Command")} aria-label="Copy npm command">Copy</button>
        </div>
      </div>
      <div>
        <h3 id="npx-label">…or where the agent package is installed</h3>
        <div class="row">
          <pre class="agent-command" data-command="npx" aria-labelledby="npx-label">${commands.npx}</pre>
          <button @click=${() => this.copy(commands.npx, "Command")} aria-label="Copy npx command">Copy</button>
        </div>
      </div>
      <p class="copied" role="status">${this.copied}</p>
    `;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "token-reveal": TokenReveal;
  }
}
