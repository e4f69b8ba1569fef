import { EXPIRY_CHOICES, expiresAt, formatExpiry, isExpired } from "../src/lib/api-tokens";
import { describeTeams, teamName, teamOf } from "../src/lib/directory";
import { hrefFor, parseRoute } from "../src/lib/route";

const DAY = 86_400_000;

describe("API token expiry", () => {
  it("turns a choice into expires_at, or none for never", () => {
    expect(expiresAt("30d", 1000)).toBe(1000 + 30 * DAY);
    expect(expiresAt("1y", 0)).toBe(365 * DAY);
    expect(expiresAt("never", 1000)).toBeUndefined();
    expect(expiresAt("bogus", 1000)).toBeUndefined();
    expect(EXPIRY_CHOICES[0].id).toBe("30d"); // the form's default
  });

  it("says when a token expires", () => {
    const now = 10 * DAY;
    expect(formatExpiry(undefined, now)).toBe("never");
    expect(formatExpiry(null, now)).toBe("never");
    expect(formatExpiry(now + 5 * 60_000, now)).toBe("in 5 min");
    expect(formatExpiry(now + 3 * 3_600_000, now)).toBe("in 3 h");
    expect(formatExpiry(now + 30 * DAY, now)).toBe("in 30 d");
    expect(formatExpiry(now - 2 * 3_600_000, now)).toBe("expired 2 h ago");
    expect([isExpired(now, now), isExpired(now + 1, now), isExpired(null, now)]).toEqual([true, false, false]);
  });
});

describe("teams", () => {
  const teams = [
    { id: "default", name: "default" },
    { id: "t1", name: "staging" },
  ];
  it("names a host's team, and users' teams", () => {
    expect(teamOf({ id: "h", team_id: "t1" })).toBe("t1");
    expect(teamOf({ id: "h" })).toBeUndefined();
    expect(teamName(teams, "t1")).toBe("staging");
    expect(teamName(teams, "gone")).toBe("gone");
    expect(describeTeams(teams, null)).toBe("Every team");
    expect(describeTeams(teams, ["t1", "default"])).toBe("staging, default");
    expect(describeTeams(teams, [])).toBe("No team");
  });
});

describe("routes of the account and admin pages", () => {
  it.each(["users", "teams", "audit", "tokens", "account"] as const)("#/%s", (view) => {
    expect(parseRoute(`#/${view}`)).toEqual({ view });
    expect(hrefFor({ view })).toBe(`#/${view}`);
  });
  it("anything else is the fleet", () => {
    expect(parseRoute("#/users/extra")).toEqual({ view: "fleet" });
    expect(parseRoute("#/nope")).toEqual({ view: "fleet" });
  });
});
