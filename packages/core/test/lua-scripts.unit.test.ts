/** The Lua scripts as files (lua/scripts.ts): each documented, includes and constants resolved at load. */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { DEFAULT_TEAM } from "@tether/protocol";
import { SCRIPT_NAMES, luaSource } from "../src/lua/scripts";

const DIR = path.join(__dirname, "../src/lua");
const files = readdirSync(DIR).filter((f) => f.endsWith(".lua"));

test("every script's header names its KEYS, ARGV and result; every shared piece what it defines", () => {
  for (const file of files) {
    const header = readFileSync(path.join(DIR, file), "utf8").split("\n--!")[0]!;
    if (/shared piece/.test(header)) expect({ file, defines: /^-- Defines: /m.test(header) }).toEqual({ file, defines: true });
    else
      expect({ file, keys: /^-- KEYS: /m.test(header), argv: /^-- ARGV: /m.test(header), result: /^-- Result: /m.test(header) }).toEqual({
        file,
        keys: true,
        argv: true,
        result: true,
      });
  }
});

test("loaded text: includes in place, constants substituted, nothing left to resolve; read once", () => {
  const append = luaSource("append.lua");
  expect(append).not.toMatch(/^--!include/m);
  expect(append).not.toContain("$");
  expect(append).toContain("local function envelope(team, except)");
  expect(append).toContain("local function event_frame(sid, epoch, type, payload)");
  expect(append).toContain(`team = '${DEFAULT_TEAM}'`);
  expect(luaSource("append.lua")).toBe(append);
  for (const file of files) expect(luaSource(file)).not.toMatch(/^--!|\$[A-Z_]/m);
  expect(SCRIPT_NAMES).toHaveLength(files.filter((f) => !/shared piece/.test(readFileSync(path.join(DIR, f), "utf8"))).length);
});
