import type { AgentToHub } from "@tether/protocol";
import { Outbox, droppedMarker } from "../src/outbox";

const drain = (outbox: Outbox): AgentToHub[] => {
  const frames: AgentToHub[] = [];
  for (let f = outbox.nextFrame(); f; f = outbox.nextFrame()) frames.push(f);
  return frames;
};
const seqs = (frames: AgentToHub[]) => frames.map((f) => (f.type === "output" ? f.payload.seq : f.type));
const data = (frames: AgentToHub[]) => frames.map((f) => (f.type === "output" ? f.payload.data : `<${f.type}>`)).join("");

describe("Outbox", () => {
  const make = (limitBytes = 1 << 20, budget = 1000) => new Outbox({ limitBytes, dataBudget: () => budget });

  test("seq counts from 0 per command, in send order; the final frame comes last", () => {
    const outbox = make();
    outbox.pushOutput("a", "stdout", "1");
    outbox.pushOutput("b", "stdout", "x");
    outbox.pushOutput("a", "stderr", "2");
    outbox.pushFinal({ command_id: "a", exit_code: 0, status: "succeeded" });
    const frames = drain(outbox);
    expect(frames.map((f) => (f.type === "output" ? `${f.payload.command_id}${f.payload.seq}` : f.type))).toEqual([
      "a0",
      "b0",
      "a1",
      "command_finished",
    ]);
  });

  test("unsent pieces of the same command and stream merge, up to the frame budget", () => {
    const outbox = make(1 << 20, 12); // JSON.stringify(data) ≤ 12 bytes: 10 characters
    for (const piece of ["abcd", "efgh", "ij", "k"]) outbox.pushOutput("a", "stdout", piece);
    const frames = drain(outbox);
    expect(frames.map((f) => (f.type === "output" ? f.payload.data : ""))).toEqual(["abcdefghij", "k"]);
  });

  test("rewind resends everything unconfirmed with the same seq, then new output continues the count", () => {
    const outbox = make();
    outbox.pushOutput("a", "stdout", "1");
    drain(outbox);
    outbox.pushOutput("a", "stderr", "2");
    expect(seqs(drain(outbox))).toEqual([1]);
    expect(outbox.resendCount).toBe(0);
    outbox.rewind();
    outbox.pushOutput("a", "stdout", "3");
    expect(outbox.resendCount).toBe(2);
    expect(seqs(drain(outbox))).toEqual([0, 1, 2]);
    expect(outbox.resendCount).toBe(0);
  });

  test("a ping confirms what was sent before the previous ping; confirmed frames are never resent", () => {
    const outbox = make();
    outbox.pushOutput("a", "stdout", "1");
    drain(outbox);
    outbox.onPing(); // our pong follows frame 0
    outbox.pushOutput("a", "stderr", "2");
    drain(outbox);
    outbox.onPing(); // the hub got that pong, so frame 0 arrived; frame 1 not yet known
    outbox.rewind();
    expect(seqs(drain(outbox))).toEqual([1]);
  });

  test("over the limit, the oldest unsent output becomes one marker per command; seq has no gap", () => {
    const outbox = make(64 * 10 + 200, 50); // room for a handful of entries
    for (let i = 0; i < 40; i++) outbox.pushOutput(i % 2 ? "a" : "b", "stdout", `${String(i).padStart(2, "0")}-line\n`);
    outbox.pushFinal({ command_id: "a", exit_code: 0, status: "succeeded" });
    const frames = drain(outbox);
    expect(outbox.totalBytes).toBeLessThanOrEqual(64 * 10 + 200);
    const a = frames.filter((f) => f.type === "output" && f.payload.command_id === "a");
    expect(seqs(a)).toEqual(a.map((_, i) => i));
    expect(frames[frames.length - 1]!.type).toBe("command_finished");
    const dropped = outbox.droppedBytes;
    expect(dropped).toBeGreaterThan(0);
    // Each command's text = one marker, then its newest lines, intact and in order.
    const aText = data(a);
    const marker = /^\[tether-agent: (\d+) bytes of output dropped while the hub was unreachable\]\n/.exec(aText)!;
    expect(marker).not.toBeNull();
    expect(aText.endsWith("39-line\n")).toBe(true);
    expect(droppedMarker(5)).toBe("[tether-agent: 5 bytes of output dropped while the hub was unreachable]\n");
  });

  test("sent-but-unconfirmed frames are given up first, before any unsent output", () => {
    const outbox = make(64 * 4 + 40, 1000);
    outbox.pushOutput("a", "stdout", "old");
    drain(outbox);
    outbox.pushOutput("b", "stdout", "x".repeat(20));
    outbox.pushOutput("c", "stdout", "y".repeat(20));
    outbox.pushOutput("d", "stdout", "z".repeat(20));
    expect(outbox.droppedBytes).toBe(0);
    outbox.rewind();
    expect(data(drain(outbox))).toBe("x".repeat(20) + "y".repeat(20) + "z".repeat(20));
  });

  test("holdsUnsentFinal only while the final frame waits to be sent", () => {
    const outbox = make();
    outbox.pushFinal({ command_id: "a", exit_code: 0, status: "succeeded" });
    expect(outbox.holdsUnsentFinal("a")).toBe(true);
    drain(outbox);
    expect(outbox.holdsUnsentFinal("a")).toBe(false);
  });

  test("output_truncated: that command's unsent and later output is never sent, its final still is; others go on", () => {
    const outbox = make(1 << 20, 4);
    outbox.pushOutput("a", "stdout", "11");
    expect(seqs(drain(outbox))).toEqual([0]);
    outbox.pushOutput("a", "stdout", "22");
    outbox.pushOutput("b", "stdout", "xx");
    const before = outbox.totalBytes;
    outbox.stopOutput("a");
    expect(outbox.totalBytes).toBeLessThan(before);
    outbox.pushOutput("a", "stdout", "33");
    outbox.pushFinal({ command_id: "a", exit_code: 0, status: "succeeded" });
    const frames = drain(outbox);
    expect(frames.map((f) => (f.type === "output" ? `${f.payload.command_id}:${f.payload.data}` : f.type))).toEqual([
      "b:xx",
      "command_finished",
    ]);
  });
});
