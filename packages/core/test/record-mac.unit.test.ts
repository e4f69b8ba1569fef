/** Record MACs (issue 13.3): canonical bytes pinned, every granting field bound, no copying between ids or kinds. */
import { createHmac, hkdfSync } from "node:crypto";
import {
  MAC_INFO,
  RECORD_KINDS,
  RecordMacs,
  apiTokenMacFields,
  canonicalBytes,
  hostTokenMacFields,
  sessionMacFields,
  userMacFields,
  type ForgeryReason,
  type RecordKind,
} from "../src/record-mac";

const SECRET = "s".repeat(32);
const user = { id: "u1", username: "ann", role: "viewer", teams: ["default", "ops"], hash: "aGFzaA==", salt: "c2FsdA==" };
const token = { id: "t1", name: "ci", owner_id: "u1", role: "operator", hash: "ab".repeat(32), expires_at: null as number | null };

describe("canonical bytes and MACs are pinned (a change here invalidates every stored record)", () => {
  const macs = new RecordMacs(SECRET);

  test("user: id, username, role, teams, password hash and salt, in that order", () => {
    expect(canonicalBytes(userMacFields(user)).toString()).toBe('["u1","ann","viewer",["default","ops"],"aGFzaA==","c2FsdA=="]');
    expect(macs.mac("user", userMacFields(user))).toBe("3qphnOnxB0usdluH2Tc9EmhcehIoIdBQt6sUn7QvdjU");
  });

  test("API token: id, hash, owner, role, expiry, name", () => {
    expect(canonicalBytes(apiTokenMacFields(token)).toString()).toBe(`["t1","${"ab".repeat(32)}","u1","operator",null,"ci"]`);
    expect(macs.mac("api_token", apiTokenMacFields(token))).toBe("Bs-sBHjKTppliL3t10VoSEjtqDOI9nb5U7lHQzP7KFs");
  });

  test("session: its id and its user; host token: the hash and its host", () => {
    expect(canonicalBytes(sessionMacFields("sid1", { id: "u1", username: "ann" })).toString()).toBe('["sid1","u1","ann"]');
    expect(macs.mac("session", sessionMacFields("sid1", { id: "u1", username: "ann" }))).toBe(
      "jn5_cx-aFqoi6H2qgtmEmJAIQSaN08dFfRM1df6Q8Rg",
    );
    expect(canonicalBytes(hostTokenMacFields("cd".repeat(32), "h1")).toString()).toBe(`["${"cd".repeat(32)}","h1"]`);
    expect(macs.mac("host_token", hostTokenMacFields("cd".repeat(32), "h1"))).toBe("50XFxqv486ijZsjstJ6_n9Sd4vupohg9_um-9igXBK4");
  });

  test("the key is HKDF-SHA256(SESSION_SECRET, no salt, tether/mac/<kind>/v1), the MAC HMAC-SHA256 in base64url", () => {
    expect(MAC_INFO).toEqual({
      user: "tether/mac/user/v1",
      api_token: "tether/mac/api-token/v1",
      session: "tether/mac/session/v1",
      host_token: "tether/mac/host-token/v1",
    });
    const key = Buffer.from(hkdfSync("sha256", SECRET, Buffer.alloc(0), "tether/mac/user/v1", 32));
    const expected = createHmac("sha256", key)
      .update(canonicalBytes(userMacFields(user)))
      .digest("base64url");
    expect(macs.mac("user", userMacFields(user))).toBe(expected);
  });
});

describe("verification", () => {
  const macs = new RecordMacs(SECRET);
  const sealed = macs.mac("user", userMacFields(user));

  test("the genuine record verifies", () => {
    expect(macs.verify("user", userMacFields(user), sealed)).toBe(true);
  });

  test.each([
    ["role flipped to admin", { role: "admin" }],
    ["a team added", { teams: ["default", "ops", "prod"] }],
    ["teams cleared (null: every team)", { teams: null }],
    ["another password hash", { hash: "b3RoZXI=" }],
    ["another salt", { salt: "b3RoZXI=" }],
    ["renamed", { username: "admin" }],
    ["copied under another id", { id: "u2" }],
  ])("a user record %s fails", (_what, change) => {
    expect(macs.verify("user", userMacFields({ ...user, ...change }), sealed)).toBe(false);
  });

  test.each([
    ["role raised", { role: "admin" }],
    ["expiry lifted", { expires_at: null, id: "t1" }],
    ["given to another owner", { owner_id: "u2" }],
    ["another hash (a token the attacker knows)", { hash: "ef".repeat(32) }],
    ["copied under another id", { id: "t2" }],
  ])("an API token record %s fails", (_what, change) => {
    const expiring = { ...token, expires_at: 1_700_000_000_000 };
    const mac = macs.mac("api_token", apiTokenMacFields(expiring));
    expect(macs.verify("api_token", apiTokenMacFields(expiring), mac)).toBe(true);
    expect(macs.verify("api_token", apiTokenMacFields({ ...expiring, ...change }), mac)).toBe(false);
  });

  test("a session copied under another session id, or given another user, fails", () => {
    const mac = macs.mac("session", sessionMacFields("sid-admin", { id: "u-admin", username: "admin" }));
    expect(macs.verify("session", sessionMacFields("sid-admin", { id: "u-admin", username: "admin" }), mac)).toBe(true);
    expect(macs.verify("session", sessionMacFields("sid-eve", { id: "u-admin", username: "admin" }), mac)).toBe(false);
    expect(macs.verify("session", sessionMacFields("sid-admin", { id: "u-eve", username: "admin" }), mac)).toBe(false);
  });

  test("a host token's hash bound to another host fails", () => {
    const mac = macs.mac("host_token", hostTokenMacFields("cd".repeat(32), "host-a"));
    expect(macs.verify("host_token", hostTokenMacFields("cd".repeat(32), "host-b"), mac)).toBe(false);
  });

  test("a MAC of one kind is never valid as another's, even over the same bytes", () => {
    const fields = ["x", "y"];
    for (const a of RECORD_KINDS)
      for (const b of RECORD_KINDS) {
        expect(macs.verify(b, fields, macs.mac(a, fields))).toBe(a === b);
      }
  });

  test("another SESSION_SECRET, a missing, truncated or garbled MAC all fail", () => {
    expect(new RecordMacs("t".repeat(32)).verify("user", userMacFields(user), sealed)).toBe(false);
    for (const bad of [
      undefined,
      null,
      "",
      sealed.slice(0, 42),
      `${sealed}A`,
      "!".repeat(43),
      sealed.replace(/^./, (c) => (c === "A" ? "B" : "A")),
    ]) {
      expect(macs.verify("user", userMacFields(user), bad)).toBe(false);
    }
  });

  test("field boundaries are unambiguous: moving characters between fields changes the bytes", () => {
    expect(canonicalBytes(["ab", "c"]).equals(canonicalBytes(["a", "bc"]))).toBe(false);
    expect(canonicalBytes(['a","b']).equals(canonicalBytes(["a", "b"]))).toBe(false);
    expect(canonicalBytes([null]).equals(canonicalBytes(["null"]))).toBe(false);
  });
});

describe("refusals", () => {
  test("each is counted; each record and reason is logged once, with no secret in the line", () => {
    const counts = new Map<RecordKind, number>();
    const lines: Array<{ obj: unknown; msg: string }> = [];
    const macs = new RecordMacs(SECRET, {
      count: (kind) => ({ inc: (n = 1) => void counts.set(kind, (counts.get(kind) ?? 0) + n) }),
      log: { warn: ((obj: unknown, msg: string) => void lines.push({ obj, msg })) as never },
    });
    const refuse = (kind: RecordKind, ref: string, reason: ForgeryReason) => macs.refused(kind, ref, reason);
    refuse("user", "u1", "wrong MAC");
    refuse("user", "u1", "wrong MAC");
    refuse("user", "u1", "missing MAC");
    refuse("api_token", "t1", "bound to another id");
    expect(counts).toEqual(
      new Map([
        ["user", 3],
        ["api_token", 1],
      ]),
    );
    expect(lines.map((l) => l.obj)).toEqual([
      { kind: "user", ref: "u1", reason: "wrong MAC" },
      { kind: "user", ref: "u1", reason: "missing MAC" },
      { kind: "api_token", ref: "t1", reason: "bound to another id" },
    ]);
    expect(lines[0]!.msg).toMatch(/^forged record refused: user u1 \(wrong MAC\), treated as absent/);
    expect(JSON.stringify(lines)).not.toContain(SECRET);
  });
});
