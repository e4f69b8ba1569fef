import type { Command } from "@tether/protocol";
import { commandDuration, formatAgo, formatCommandLine, formatDuration, statusLabel } from "../src/lib/format";

const now = 1_700_000_000_000;

describe("formatAgo", () => {
  it.each([
    [0, "just now"],
    [999, "just now"],
    [3_000, "3 s ago"],
    [59_999, "59 s ago"],
    [60_000, "1 min ago"],
    [3_599_000, "59 min ago"],
    [3_600_000, "1 h ago"],
    [86_400_000 * 3, "3 d ago"],
    [-5_000, "just now"],
  ])("%i ms ago is %s", (ago, text) => {
    expect(formatAgo(now - ago, now)).toBe(text);
  });
});

describe("formatDuration", () => {
  it.each([
    [0, "0 ms"],
    [850, "850 ms"],
    [3_240, "3.2 s"],
    [125_000, "2 min 5 s"],
    [3_780_000, "1 h 3 min"],
    [-10, "0 ms"],
  ])("%i ms is %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe("commandDuration", () => {
  const base: Command = { id: "c", host_id: "h", command: "ls", args: [], status: "queued", created_at: now, exit_code: null };

  it("is undefined while queued", () => {
    expect(commandDuration(base, now + 5000)).toBeUndefined();
  });
  it("runs from started_at to now, then to finished_at", () => {
    expect(commandDuration({ ...base, status: "running", started_at: now + 1000 }, now + 4000)).toBe(3000);
    expect(commandDuration({ ...base, status: "succeeded", started_at: now + 1000, finished_at: now + 1500 }, now + 9000)).toBe(500);
  });
});

describe("formatCommandLine", () => {
  it("quotes only what needs quoting", () => {
    expect(formatCommandLine("ls", ["-la", "/var/log"])).toBe("ls -la /var/log");
    expect(formatCommandLine("echo", ["hello world", "it's", ""])).toBe(`echo 'hello world' 'it'"'"'s' ''`);
  });
});

it("labels statuses for people", () => {
  expect(statusLabel("timed_out")).toBe("Timed out");
  expect(statusLabel("succeeded")).toBe("Succeeded");
});
