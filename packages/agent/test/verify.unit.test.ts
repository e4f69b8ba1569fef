/** CONTRACT §5 on the agent: which command frames run, and the reason for those that do not. */
import { generateKeyPairSync } from "node:crypto";
import type { CommandFrame } from "@tether/protocol";
import { COMMAND_CLOCK_SKEW_MS, signCommandFields } from "@tether/protocol/src/signing";
import { parseServerKey, verifyCommand } from "../src/verify";

const server = generateKeyPairSync("ed25519");
const other = generateKeyPairSync("ed25519");
const pem = (k: typeof server.publicKey) => k.export({ type: "spki", format: "pem" }).toString();
const trusted = parseServerKey(pem(server.publicKey));
const NOW = 1_800_000_000_000;

/** A frame as the hub sends it, signed by `key` for `host`. */
function signed(over: Partial<CommandFrame["payload"]> = {}, key = server.privateKey, keyId = trusted.keyId): CommandFrame["payload"] {
  const base = {
    command_id: "c-1",
    host_id: "h-1",
    command: "uptime",
    args: ["-p"],
    timeout_ms: 5000,
    issued_at: NOW - 1000,
    expires_at: NOW + 60_000,
    requested_by: { type: "user" as const, id: "u-1", name: "ada" },
    key_id: keyId,
  };
  const signature = signCommandFields(key, { ...base, requested_by_id: base.requested_by.id });
  return { ...base, signature, ...over };
}
const check = (payload: CommandFrame["payload"], hostId = "h-1", now = NOW) => verifyCommand(payload, { keys: [trusted], hostId, now });

test("a genuine command for this host, in time, runs", () => {
  expect(check(signed())).toEqual({ ok: true });
});

test("unsigned, unknown key, other key, or any field changed: bad_signature", () => {
  const { signature: _s, ...unsigned } = signed();
  expect(check(unsigned)).toMatchObject({ ok: false, reason: "bad_signature" });
  expect(check(signed({}, other.privateKey))).toMatchObject({ ok: false, reason: "bad_signature" }); // claims our key id
  expect(check(signed({}, other.privateKey, "AAAAAAAAAAAAAAAA"))).toMatchObject({ ok: false, reason: "bad_signature" });
  for (const change of [
    { command: "id" },
    { args: ["-p", "x"] },
    { args: [] },
    { timeout_ms: 6000 },
    { timeout_ms: undefined },
    { expires_at: NOW + 10 ** 9 },
    { issued_at: NOW },
    { command_id: "c-2" },
    { requested_by: { type: "user" as const, id: "u-2", name: "ada" } },
  ])
    expect(check({ ...signed(), ...change })).toMatchObject({ ok: false, reason: "bad_signature" });
});

test("signed for another host: wrong_host (and with the host_id stripped, bad_signature)", () => {
  expect(check(signed(), "h-2")).toMatchObject({ ok: false, reason: "wrong_host" });
  expect(check({ ...signed(), host_id: undefined }, "h-2")).toMatchObject({ ok: false, reason: "bad_signature" });
  expect(check({ ...signed(), host_id: "h-2" }, "h-2")).toMatchObject({ ok: false, reason: "bad_signature" });
});

test("expired only past expires_at + 5 min of skew", () => {
  const payload = signed();
  expect(check(payload, "h-1", payload.expires_at! + COMMAND_CLOCK_SKEW_MS)).toEqual({ ok: true });
  expect(check(payload, "h-1", payload.expires_at! + COMMAND_CLOCK_SKEW_MS + 1)).toMatchObject({ ok: false, reason: "expired" });
});
