/** The one policy module (CONTRACT §4): every role × team × action, and properties over all inputs. */
import fc from "fast-check";
import { ROLES, type Role } from "@tether/protocol";
import {
  audienceKey,
  audienceOf,
  audienceSees,
  decide,
  decideCommand,
  decideHost,
  decideToken,
  decideTokenCreate,
  tokenListScope,
  tokenRights,
  type GlobalAction,
  type Principal,
} from "../src/policy";

const user = (role: Role, teams: string[] | null, id = "u1"): Principal => ({ type: "user", id, name: id, role, teams, userId: id });
const token = (role: Role, teams: string[] | null): Principal => ({ type: "token", id: "t1", name: "ci", role, teams, userId: "u1" });

const teamArb = fc.constantFrom("default", "a", "b", "c");
const roleArb = fc.constantFrom(...ROLES);
const teamsArb = fc.option(fc.uniqueArray(teamArb, { maxLength: 4 }), { nil: null });
const principalArb = fc.record({
  type: fc.constantFrom("user" as const, "token" as const),
  id: fc.constant("p"),
  name: fc.constant("p"),
  role: roleArb,
  teams: teamsArb,
  userId: fc.constantFrom("u1", "u2"),
});

describe("hosts", () => {
  test.each([
    ["viewer", "view", "allow"],
    ["viewer", "operate", "forbidden"],
    ["viewer", "manage", "forbidden"],
    ["operator", "view", "allow"],
    ["operator", "operate", "allow"],
    ["operator", "manage", "forbidden"],
    ["admin", "view", "allow"],
    ["admin", "operate", "allow"],
    ["admin", "manage", "allow"],
  ] as const)("%s may %s a host of its team: %s", (role, action, expected) => {
    expect(decideHost(user(role, role === "admin" ? null : ["a"]), action, { team_id: "a" })).toBe(expected);
  });

  test("a host outside the principal's teams is hidden, whatever the role or action (never 'forbidden')", () => {
    fc.assert(
      fc.property(principalArb, teamArb, fc.constantFrom("view" as const, "operate" as const, "manage" as const), (p, team, action) => {
        const d = decideHost(p, action, { team_id: team });
        const sees = p.teams === null || p.teams.includes(team);
        expect(d === "hidden").toBe(!sees);
      }),
    );
  });

  test("a host from before teams is in `default`", () => {
    expect(decideHost(user("viewer", ["default"]), "view", {})).toBe("allow");
    expect(decideHost(user("viewer", ["a"]), "view", {})).toBe("hidden");
  });

  test("a command of a deleted host: visible only to those who see every team", () => {
    expect(decideCommand(user("viewer", ["a"]), "view", null)).toBe("hidden");
    expect(decideCommand(user("viewer", null), "view", null)).toBe("allow");
    expect(decideCommand(user("viewer", null), "operate", null)).toBe("forbidden");
    expect(decideCommand(user("operator", ["a"]), "operate", { team_id: "b" })).toBe("hidden");
  });
});

describe("global actions", () => {
  const admin: GlobalAction[] = ["users.manage", "teams.create", "hosts.create", "audit.read"];
  test.each(ROLES)("%s: admin-only actions", (role) => {
    for (const a of admin) expect(decide(user(role, null), a)).toBe(role === "admin" ? "allow" : "forbidden");
  });
  test("anyone lists teams and reads events (filtered); a token never manages its owner's tokens or session", () => {
    fc.assert(
      fc.property(principalArb, (p) => {
        expect(decide(p, "teams.list")).toBe("allow");
        expect(decide(p, "events.read")).toBe("allow");
        expect(decide(p, "tokens.own")).toBe(p.type === "user" ? "allow" : "forbidden");
        expect(decide(p, "session.own")).toBe(p.type === "user" ? "allow" : "forbidden");
      }),
    );
  });
  test("an admin token (role admin, type token) may read the audit; a viewer token of an admin owner may not", () => {
    expect(decide(token("admin", null), "audit.read")).toBe("allow");
    expect(decide(token("viewer", null), "audit.read")).toBe("forbidden");
  });
});

describe("API tokens", () => {
  test("a token's role is never above its creator's", () => {
    fc.assert(
      fc.property(roleArb, roleArb, (own, asked) => {
        const d = decideTokenCreate(user(own, null), asked);
        expect(d === "allow").toBe(ROLES.indexOf(asked) <= ROLES.indexOf(own));
      }),
    );
  });
  test("a token's rights now: the weaker of its role and its owner's current role; its owner's teams", () => {
    fc.assert(
      fc.property(roleArb, teamsArb, roleArb, (ownerRole, ownerTeams, tokenRole) => {
        const r = tokenRights({ role: ownerRole, teams: ownerTeams }, tokenRole);
        expect(ROLES.indexOf(r.role)).toBe(Math.min(ROLES.indexOf(ownerRole), ROLES.indexOf(tokenRole)));
        expect(r.teams).toEqual(ownerRole === "admin" ? null : ownerTeams);
      }),
    );
    // An operator's admin-role token (made before a demotion) is a viewer's once the owner is one.
    expect(tokenRights({ role: "viewer", teams: ["a"] }, "admin")).toEqual({ role: "viewer", teams: ["a"] });
  });
  test("tokens are seen by their owner and admins (users) only; others never learn of them", () => {
    expect(decideToken(user("viewer", ["a"], "u1"), "u1")).toBe("allow");
    expect(decideToken(user("operator", ["a"], "u2"), "u1")).toBe("hidden");
    expect(decideToken(user("admin", null, "u2"), "u1")).toBe("allow");
    expect(decideToken(token("admin", null), "u2")).toBe("hidden");
    expect(tokenListScope(user("admin", null, "u9"))).toBeNull();
    expect(tokenListScope(user("operator", ["a"], "u9"))).toBe("u9");
  });
});

describe("audiences (fan-out)", () => {
  test("an audience sees an event iff it sees its team and does not see its `except` team", () => {
    fc.assert(
      fc.property(teamsArb, teamArb, fc.option(teamArb, { nil: "" }), (teams, team, except) => {
        const a = audienceOf({ teams });
        const sees = (t: string) => teams === null || teams.includes(t);
        expect(audienceSees(a, team, except)).toBe(sees(team) && (except === "" || !sees(except)));
      }),
    );
  });
  test("the same set of teams, in any order, is one group; every team is another", () => {
    expect(audienceKey(audienceOf({ teams: ["b", "a"] }))).toBe(audienceKey(audienceOf({ teams: ["a", "b"] })));
    expect(audienceKey(null)).not.toBe(audienceKey(audienceOf({ teams: [] })));
  });
});
