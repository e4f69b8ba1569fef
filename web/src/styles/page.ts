import { css } from "lit";

/** The admin and account pages: a heading row, boxed sections and tables that scroll sideways on a phone. */
export const page = css`
  :host {
    display: block;
  }
  .head {
    display: flex;
    flex-wrap: wrap;
    align-items: center;
    gap: 0.75rem 1rem;
    margin-bottom: 1rem;
  }
  h1 {
    font-size: 1.5rem;
    margin-right: auto;
  }
  section {
    background: var(--surface);
    border: 1px solid var(--border);
    border-radius: var(--radius);
    padding: 1rem;
  }
  section + section {
    margin-top: 1rem;
  }
  section h2 {
    font-size: 1rem;
    margin-bottom: 0.75rem;
  }
  .table {
    overflow-x: auto;
  }
  table {
    width: 100%;
    border-collapse: collapse;
    font-size: 0.9rem;
  }
  th,
  td {
    text-align: left;
    padding: 0.45rem 0.5rem;
    border-bottom: 1px solid var(--border);
    vertical-align: top;
  }
  th {
    color: var(--muted);
    font-weight: 600;
    white-space: nowrap;
  }
  td.actions-cell {
    white-space: nowrap;
    text-align: right;
  }
  td.actions-cell button {
    min-height: 2rem;
    padding: 0.2rem 0.6rem;
  }
  form.inline {
    display: flex;
    flex-wrap: wrap;
    gap: 0.75rem;
    align-items: flex-end;
  }
  form.inline > div {
    flex: 1 1 12rem;
  }
  form.stack {
    display: grid;
    gap: 0.75rem;
    max-width: 28rem;
  }
  fieldset {
    border: 1px solid var(--border);
    border-radius: 6px;
    margin: 0;
    padding: 0.5rem 0.75rem;
  }
  legend {
    font-weight: 600;
    font-size: 0.9rem;
    padding: 0 0.25rem;
  }
  .check {
    display: flex;
    gap: 0.4rem;
    align-items: center;
    font-weight: normal;
    margin: 0.2rem 0;
  }
  .check input {
    width: auto;
    min-height: 0;
  }
  .ok {
    color: var(--online);
    margin: 0.5rem 0;
  }
  .mono {
    font-family: var(--mono);
    font-size: 0.85rem;
    overflow-wrap: anywhere;
  }
`;
