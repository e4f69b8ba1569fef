import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createLog } from "../src/log";
import { openStateFile } from "../src/state-file";
import { tempDir } from "./support/harness";

describe("openStateFile", () => {
  let tmp: ReturnType<typeof tempDir>;
  const lines: string[] = [];
  const log = createLog({ write: (l) => lines.push(l) });
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  test("remembers running and finished ids across reopen (a restart)", () => {
    const file = path.join(tmp.dir, "sub", "state.json");
    const state = openStateFile(file, 100, log);
    state.markRunning("a");
    state.markFinished({ command_id: "a", exit_code: 0, status: "succeeded" });
    state.markRunning("b");
    const again = openStateFile(file, 100, log);
    expect(again.get("a")).toEqual({ id: "a", state: "finished", finished: { command_id: "a", exit_code: 0, status: "succeeded" } });
    expect(again.orphans()).toEqual(["b"]);
    expect(readdirSync(path.dirname(file))).toEqual(["state.json"]); // no temp file left behind
  });

  test("keeps only the newest N ids, but never evicts a running one", () => {
    const file = path.join(tmp.dir, "state.json");
    const state = openStateFile(file, 10, log);
    state.markRunning("long-runner");
    for (let i = 0; i < 25; i++) state.markFinished({ command_id: `c${i}`, exit_code: 0, status: "succeeded" });
    const ids = (JSON.parse(readFileSync(file, "utf8")) as { commands: { id: string }[] }).commands.map((c) => c.id);
    expect(ids).toEqual(["long-runner", ...Array.from({ length: 9 }, (_, i) => `c${i + 16}`)]);
  });

  test("an evicted signed command stays `seen` until expires_at + 5 min skew, across restarts, then goes", () => {
    const file = path.join(tmp.dir, "state.json");
    let now = 1_000_000;
    const state = openStateFile(file, 10, log, () => now);
    state.markRunning("signed", now + 60_000);
    state.markFinished({ command_id: "signed", exit_code: 0, status: "succeeded" });
    for (let i = 0; i < 20; i++) state.markFinished({ command_id: `c${i}`, exit_code: 0, status: "succeeded" });
    // Its final frame is gone (over the limit), but not the fact that it ran.
    expect(openStateFile(file, 10, log, () => now).get("signed")).toEqual({ id: "signed", state: "seen", expires_at: now + 60_000 });
    now += 60_000 + 5 * 60_000;
    state.markFinished({ command_id: "one-more", exit_code: 0, status: "succeeded" });
    expect(openStateFile(file, 10, log, () => now).get("signed")).toEqual({ id: "signed", state: "seen", expires_at: 1_060_000 });
    now += 1;
    state.markFinished({ command_id: "and-another", exit_code: 0, status: "succeeded" });
    expect(openStateFile(file, 10, log, () => now).get("signed")).toBeUndefined();
  });

  test("a corrupt file is moved aside, not fatal", () => {
    const file = path.join(tmp.dir, "state.json");
    writeFileSync(file, "{not json");
    const state = openStateFile(file, 10, log);
    expect(state.get("x")).toBeUndefined();
    expect(existsSync(`${file}.corrupt`)).toBe(true);
    expect(lines.join("")).toMatch(/ warn state_file_corrupt /);
  });

  test("an unwritable location fails at open, loudly", () => {
    writeFileSync(path.join(tmp.dir, "a-file"), "");
    expect(() => openStateFile(path.join(tmp.dir, "a-file", "state.json"), 10, log)).toThrow(/ENOTDIR|EEXIST/);
  });
});
