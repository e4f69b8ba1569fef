import type { Terminal } from "@xterm/xterm";

/**
 * Opens `terminal` inside `mount` (an element of `root`, a shadow root) without a single
 * inline style the dashboard's CSP (`style-src 'self'`) would refuse.
 *
 * xterm's DOM renderer keeps its theme, cell dimensions and scrollbar colours in three
 * `<style>` elements it creates at `open()` and later only rewrites (`textContent`). Opened
 * into a detached element, those never enter the document: each is taken out, watched with a
 * MutationObserver (which works on detached nodes) and mirrored into a constructed stylesheet
 * adopted by `root` — constructed stylesheets are not subject to CSP, as Lit's own are not.
 * The rest of xterm's styling is CSSOM (`element.style.x = …`), which CSP allows, except one
 * method of its row factory that appends to the `style` attribute (selected cells, 24-bit
 * colours): that one is replaced on this terminal by the same thing done through CSSOM. It is
 * a private member (xterm 6.0): should an upgrade rename it, the dashboard test's CSP check
 * fails and selection highlights / 24-bit colours are what would be lost, nothing else.
 *
 * xterm measures its font once the terminal becomes visible (an IntersectionObserver of its
 * own), so opening it detached costs nothing but this dance. Returns what undoes it.
 */
export function openUnderCsp(terminal: Terminal, mount: HTMLElement, root: ShadowRoot): () => void {
  const holder = document.createElement("div");
  holder.className = "xterm-holder";
  terminal.open(holder);
  styleThroughCssom(terminal);
  const sheets: CSSStyleSheet[] = [];
  const observers: MutationObserver[] = [];
  for (const style of Array.from(holder.querySelectorAll("style"))) {
    const sheet = new CSSStyleSheet();
    const sync = () => sheet.replaceSync(style.textContent ?? "");
    sync();
    // xterm keeps its reference and writes to it; the element itself never reaches the page.
    style.remove();
    const observer = new MutationObserver(sync);
    observer.observe(style, { childList: true, characterData: true, subtree: true });
    sheets.push(sheet);
    observers.push(observer);
  }
  root.adoptedStyleSheets = [...root.adoptedStyleSheets, ...sheets];
  mount.append(holder);
  // Measures the font now that the element is in the page (a same-size resize does only that).
  terminal.resize(terminal.cols, terminal.rows);
  return () => {
    for (const observer of observers) observer.disconnect();
    root.adoptedStyleSheets = root.adoptedStyleSheets.filter((sheet) => !sheets.includes(sheet));
    holder.remove();
  };
}

/** The private path to xterm's DOM row factory (xterm 6.0), as far as it is used here. */
interface XtermInternals {
  _core?: { _renderService?: { _renderer?: { value?: { _rowFactory?: { _addStyle?: unknown } } } } };
}

/** Makes the DOM renderer set inline styles through CSSOM (`style.setProperty`) instead of the attribute. */
function styleThroughCssom(terminal: Terminal): void {
  const factory = (terminal as unknown as XtermInternals)._core?._renderService?._renderer?.value?._rowFactory;
  if (!factory || typeof factory._addStyle !== "function") return;
  factory._addStyle = (element: HTMLElement, style: string) => {
    // xterm passes one declaration, "property:value" (e.g. "background-color:#264f78").
    const colon = style.indexOf(":");
    if (colon > 0) element.style.setProperty(style.slice(0, colon).trim(), style.slice(colon + 1).trim());
  };
}
