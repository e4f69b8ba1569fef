import { css } from "lit";

/** Buttons, inputs, badges and dialogs, shared by every component's shadow root. */
export const shared = css`
  :host {
    font: inherit;
    color: var(--text);
  }
  [hidden] {
    display: none !important;
  }
  h1,
  h2,
  h3 {
    line-height: 1.25;
    margin: 0;
  }
  a {
    color: var(--accent);
  }
  :focus-visible {
    outline: none;
    box-shadow: var(--focus);
  }
  button,
  .button {
    font: inherit;
    cursor: pointer;
    border-radius: 6px;
    padding: 0.4rem 0.9rem;
    border: 1px solid var(--border);
    background: var(--surface);
    color: var(--text);
    min-height: 2.25rem;
    text-decoration: none;
    display: inline-flex;
    align-items: center;
    gap: 0.35rem;
  }
  button:hover:not(:disabled) {
    border-color: var(--muted);
  }
  button:disabled {
    opacity: 0.6;
    cursor: default;
  }
  button.primary {
    background: var(--accent);
    border-color: var(--accent);
    color: var(--accent-text);
  }
  button.danger {
    color: var(--danger);
    border-color: var(--danger);
  }
  button.danger.primary {
    background: var(--danger);
    color: #fff;
  }
  input,
  select {
    font: inherit;
    color: var(--text);
    background: var(--surface);
    border: 1px solid var(--border);
    border-radius: 6px;
    padding: 0.4rem 0.6rem;
    min-height: 2.25rem;
    width: 100%;
  }
  input:focus-visible {
    border-color: var(--accent);
  }
  label {
    font-weight: 600;
    font-size: 0.9rem;
    display: block;
    margin-bottom: 0.25rem;
  }
  .muted {
    color: var(--muted);
  }
  .error {
    color: var(--danger);
    background: var(--danger-bg);
    border-radius: 6px;
    padding: 0.5rem 0.75rem;
    margin: 0.5rem 0;
  }
  .badge {
    display: inline-flex;
    align-items: center;
    gap: 0.35rem;
    font-size: 0.8rem;
    font-weight: 600;
    padding: 0.1rem 0.55rem;
    border-radius: 999px;
    white-space: nowrap;
  }
  .badge::before {
    content: "";
    width: 0.5rem;
    height: 0.5rem;
    border-radius: 50%;
    background: currentColor;
  }
  .badge[data-status="online"] {
    color: var(--online);
    background: var(--online-bg);
  }
  .badge[data-status="offline"] {
    color: var(--offline);
    background: var(--offline-bg);
  }
  code,
  pre {
    font-family: var(--mono);
    font-size: 0.85rem;
  }
  dialog {
    border: 1px solid var(--border);
    border-radius: var(--radius);
    background: var(--surface);
    color: var(--text);
    padding: 1.25rem;
    width: min(40rem, calc(100vw - 2rem));
    max-height: calc(100vh - 2rem);
  }
  dialog::backdrop {
    background: rgba(0, 0, 0, 0.45);
  }
  dialog h2 {
    margin-bottom: 0.75rem;
    font-size: 1.2rem;
  }
  .actions {
    display: flex;
    gap: 0.5rem;
    justify-content: flex-end;
    flex-wrap: wrap;
    margin-top: 1rem;
  }
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
  }
`;
