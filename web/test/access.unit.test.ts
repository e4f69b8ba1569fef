import { can, grantableRoles, inTeams, roleLabel, roleOf } from "../src/lib/access";
import type { Action, Principal } from "../src/lib/access";

const viewer: Principal = { id: "v", username: "vic", role: "viewer", teams: ["staging"] };
const operator: Principal = { id: "o", username: "olive", role: "operator", teams: ["staging"] };
const anyOperator: Principal = { id: "o2", username: "otto", role: "operator", teams: null };
const admin: Principal = { id: "a", username: "ada", role: "admin", teams: null };
/** The single account of a server that predates roles (CONTRACT §2 only). */
const legacy: Principal = { id: "u", username: "admin" };

const staging = { team_id: "staging" };
const prod = { team_id: "default" };
const actions: Action[] = ["dispatch", "cancel", "manage_hosts", "administer", "manage_own_account"];

describe("can", () => {
  it.each<[string, Principal | undefined, boolean[]]>([
    ["nobody", undefined, [false, false, false, false, false]],
    ["a viewer", viewer, [false, false, false, false, true]],
    ["an operator", operator, [true, true, false, false, true]],
    ["an admin", admin, [true, true, true, true, true]],
    ["a v1 server's account", legacy, [true, true, true, true, true]],
  ])("%s on a host of its team", (_, user, expected) => {
    expect(actions.map((action) => can(user, action, staging))).toEqual(expected);
  });

  it("keeps an operator to its teams' hosts; teams: null is every team", () => {
    expect(can(operator, "dispatch", prod)).toBe(false);
    expect(can(operator, "cancel", prod)).toBe(false);
    expect(can(anyOperator, "dispatch", prod)).toBe(true);
    expect(can(admin, "cancel", prod)).toBe(true);
  });

  it("trusts the server for a host whose team it did not send (it sends only the user's teams' hosts)", () => {
    expect(can(operator, "dispatch", {})).toBe(true);
    expect(can(viewer, "dispatch", {})).toBe(false);
  });

  it("an admin's teams are every team, whatever the record says", () => {
    expect(inTeams({ ...admin, teams: [] }, "x")).toBe(true);
    expect(inTeams(operator, "x")).toBe(false);
    expect(inTeams({ ...operator, teams: [] }, "staging")).toBe(false);
  });
});

describe("roles", () => {
  it("a token's role is at most its owner's", () => {
    expect(grantableRoles(viewer)).toEqual(["viewer"]);
    expect(grantableRoles(operator)).toEqual(["viewer", "operator"]);
    expect(grantableRoles(admin)).toEqual(["viewer", "operator", "admin"]);
    expect(grantableRoles(undefined)).toEqual([]);
  });

  it("reads a missing role as the v1 admin and labels roles", () => {
    expect(roleOf(legacy)).toBe("admin");
    expect(roleOf(undefined)).toBeUndefined();
    expect(roleOf(viewer)).toBe("viewer");
    expect(roleLabel("operator")).toBe("Operator");
  });
});
