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
 * The rest of xterm's styling is CSSOM (`element.style.x = …`), which CSP allows; the one
 * `setAttribute("style")` it has (24-bit colours) is avoided upstream by TerminalStream.
 *
 * xterm measures its font once the terminal becomes visible (an IntersectionObserver of its
 * own), so opening it detached costs nothing but this dance. Returns what undoes it.
 */
export function openUnderCsp(terminal: Terminal, mount: HTMLElement, root: ShadowRoot): () => void {
  const holder = document.createElement("div");
  holder.className = "xterm-holder";
  terminal.open(holder);
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
