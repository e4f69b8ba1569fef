/**
 * xterm.js and its add-ons, loaded on demand (`import()`, its own chunk of the bundle): only
 * a console needs them, and they are half the dashboard's code, so the fleet view does not
 * wait for them.
 */
import { Terminal } from "@xterm/xterm";
import type { ITerminalOptions } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";
import { SearchAddon } from "@xterm/addon-search";
import xtermCss from "@xterm/xterm/css/xterm.css";
import { openUnderCsp } from "./open-under-csp";

/** A terminal opened in a component's shadow root, with its add-ons. */
export interface XtermView {
  terminal: Terminal;
  fit: FitAddon;
  search: SearchAddon;
  dispose(): void;
}

let xtermSheet: CSSStyleSheet | undefined;

/** Opens a terminal in `mount` (inside `root`), xterm's stylesheet adopted by `root` once. */
export function openXterm(mount: HTMLElement, root: ShadowRoot, options: ITerminalOptions): XtermView {
  if (!xtermSheet) {
    xtermSheet = new CSSStyleSheet();
    xtermSheet.replaceSync(xtermCss);
  }
  if (!root.adoptedStyleSheets.includes(xtermSheet)) root.adoptedStyleSheets = [xtermSheet, ...root.adoptedStyleSheets];
  const terminal = new Terminal(options);
  const fit = new FitAddon();
  const search = new SearchAddon();
  terminal.loadAddon(fit);
  terminal.loadAddon(search);
  const undo = openUnderCsp(terminal, mount, root);
  return {
    terminal,
    fit,
    search,
    dispose() {
      undo();
      terminal.dispose();
    },
  };
}
