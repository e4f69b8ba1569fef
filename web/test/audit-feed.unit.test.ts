import { AuditFeed, actorNames, describeValue, filterEntries, mergeNewestFirst } from "../src/lib/audit-feed";
import type { AuditEntry } from "../src/lib/directory";

const entry = (id: number, action = "user.created", name = "ada"): AuditEntry => ({
  id: String(id).padStart(4, "0"),
  ts: id,
  actor: { type: "user", id: `u-${name}`, name },
  action,
});
const ids = (entries: readonly AuditEntry[]) => entries.map((e) => Number(e.id));

describe("mergeNewestFirst", () => {
  it("puts a page (oldest first) on top, newest first, without duplicates, keeping the newest max", () => {
    const first = mergeNewestFirst([], [entry(1), entry(2), entry(3)], 10);
    expect(ids(first)).toEqual([3, 2, 1]);
    expect(ids(mergeNewestFirst(first, [entry(3), entry(4)], 10))).toEqual([4, 3, 2, 1]);
    expect(ids(mergeNewestFirst(first, [entry(4), entry(5)], 3))).toEqual([5, 4, 3]);
    expect(mergeNewestFirst(first, [entry(2)], 10)).toBe(first); // nothing new: same array
  });
});

describe("filterEntries", () => {
  const entries = [
    entry(4, "command.dispatched", "olive"),
    entry(3, "user.updated", "ada"),
    entry(2, "user.created", "ada"),
    entry(1, "session.login", "Olivia"),
  ];
  it.each<[string, string, number[]]>([
    ["", "", [4, 3, 2, 1]],
    ["oli", "", [4, 1]],
    ["OLIVE", "", [4]],
    ["u-ada", "", [3, 2]], // an actor's id, exactly
    ["", "user.", [3, 2]], // a family
    ["", "user.created", [2]],
    ["ada", "command.dispatched", []],
  ])("actor %j, action %j", (actor, action, expected) => {
    expect(ids(filterEntries(entries, { actor, action }))).toEqual(expected);
  });

  it("suggests each actor once, sorted", () => {
    expect(actorNames(entries)).toEqual(["ada", "olive", "Olivia"]);
  });
});

describe("describeValue", () => {
  it("shows strings as they are and objects as key=value", () => {
    expect(describeValue("h-1")).toBe("h-1");
    expect(describeValue({ type: "host", id: "h-1", name: "web 1", gone: undefined })).toBe("type=host id=h-1 name=web 1");
    expect(describeValue({ teams: ["a", "b"] })).toBe('teams=["a","b"]');
    expect(describeValue(undefined)).toBe("");
    expect(describeValue(3)).toBe("3");
  });
});

describe("AuditFeed", () => {
  function setup(pages: AuditEntry[][], pageSize = 2) {
    const calls: (string | undefined)[] = [];
    const timers: { fn: () => void; ms: number }[] = [];
    const onChange = jest.fn();
    let fail: Error | undefined;
    const feed = new AuditFeed({
      fetchPage: async (after) => {
        calls.push(after);
        if (fail) throw fail;
        return pages.shift() ?? [];
      },
      onChange,
      pageSize,
      intervalMs: 3000,
      setTimer: (fn, ms) => timers.push({ fn, ms }),
      clearTimer: () => {},
    });
    return { feed, calls, timers, onChange, failWith: (error: Error | undefined) => (fail = error) };
  }

  it("reads every page at start, then polls after the last id", async () => {
    const { feed, calls, timers, onChange } = setup([[entry(1), entry(2)], [entry(3)], [], [entry(4)]]);
    feed.start();
    await feed.refresh();
    expect(calls).toEqual([undefined, "0002"]); // a full page means more: asked again at once
    expect(ids(feed.entries)).toEqual([3, 2, 1]);
    expect(feed.loaded).toBe(true);
    expect(onChange).toHaveBeenCalledTimes(1);
    expect(timers.at(-1)?.ms).toBe(3000);
    timers.at(-1)!.fn(); // nothing new
    await feed.refresh();
    timers.at(-1)!.fn();
    await feed.refresh();
    expect(calls).toEqual([undefined, "0002", "0003", "0003"]);
    expect(ids(feed.entries)).toEqual([4, 3, 2, 1]);
  });

  it("keeps what it has and says why when a poll fails, then recovers", async () => {
    const { feed, failWith, timers } = setup([[entry(1)], [entry(2)]]);
    feed.start();
    await feed.refresh();
    failWith(new Error("Cannot reach the server"));
    timers.at(-1)!.fn();
    await feed.refresh();
    expect(feed.error).toBe("Cannot reach the server");
    expect(ids(feed.entries)).toEqual([1]);
    failWith(undefined);
    timers.at(-1)!.fn();
    await feed.refresh();
    expect(feed.error).toBe("");
    expect(ids(feed.entries)).toEqual([2, 1]);
  });

  it("stops polling when stopped, and refresh() then does nothing", async () => {
    const { feed, calls, timers } = setup([[entry(1)]]);
    feed.start();
    await feed.refresh();
    const scheduled = timers.length;
    feed.stop();
    await feed.refresh();
    expect(calls).toHaveLength(1);
    expect(timers).toHaveLength(scheduled);
  });
});
