import { LitElement, html } from "lit";
import { customElement, query, state } from "lit/decorators.js";
import { shared } from "../styles/shared";
import { deepActiveElement } from "./add-host-dialog";

export interface ConfirmOptions {
  title: string;
  message: string;
  /** Text of the confirming button, a verb ("Remove host"). */
  confirmLabel: string;
  /** Styles the confirming button as destructive. */
  danger?: boolean;
}

/**
 * A modal yes/no question for destructive actions. `ask()` resolves true only on an explicit
 * click of the confirming button; Escape, Cancel and the backdrop all mean no. Cancel gets
 * the focus, so a stray Enter does not destroy anything.
 */
@customElement("confirm-dialog")
export class ConfirmDialog extends LitElement {
  static override styles = [shared];

  @state() private options: ConfirmOptions = { title: "", message: "", confirmLabel: "OK" };
  @query("dialog") private dialog!: HTMLDialogElement;
  @query("#confirm-cancel") private cancelButton!: HTMLButtonElement;
  private resolve: ((ok: boolean) => void) | undefined;
  private opener: Element | null = null;

  async ask(options: ConfirmOptions): Promise<boolean> {
    this.resolve?.(false);
    this.options = options;
    this.opener = deepActiveElement();
    await this.updateComplete;
    this.dialog.returnValue = "";
    this.dialog.showModal();
    this.cancelButton.focus();
    return new Promise((resolve) => (this.resolve = resolve));
  }

  private onClose(): void {
    this.resolve?.(this.dialog.returnValue === "confirm");
    this.resolve = undefined;
    (this.opener as HTMLElement | null)?.focus?.();
  }

  /** A click on the backdrop (outside the box; the box's own padding also targets the dialog) means no. */
  private onClick(event: MouseEvent): void {
    if (event.target !== this.dialog) return;
    const box = this.dialog.getBoundingClientRect();
    const inside = event.clientX >= box.left && event.clientX <= box.right && event.clientY >= box.top && event.clientY <= box.bottom;
    if (!inside) this.dialog.close();
  }

  override render() {
    const { title, message, confirmLabel, danger } = this.options;
    return html`<dialog aria-labelledby="confirm-title" aria-describedby="confirm-message" @close=${this.onClose} @click=${this.onClick}>
      <form method="dialog">
        <h2 id="confirm-title">${title}</h2>
        <p id="confirm-message">${message}</p>
        <div class="actions">
          <button id="confirm-cancel" value="cancel">Cancel</button>
          <button id="confirm-ok" value="confirm" class="primary ${danger ? "danger" : ""}">${confirmLabel}</button>
        </div>
      </form>
    </dialog>`;
  }
}

declare global {
  interface HTMLElementTagNameMap {
    "confirm-dialog": ConfirmDialog;
  }
}
