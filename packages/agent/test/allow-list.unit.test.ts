import { AllowListSchema, resolveCommand } from "../src/allow-list";

describe("resolveCommand", () => {
  const list = AllowListSchema.parse({
    uptime: ["uptime"],
    echo: ["echo", "{args}"],
    grep: ["grep", "-n", "--", "{args}", "/var/log/syslog"],
  });

  test("a template without {args} runs as is, and refuses args", () => {
    expect(resolveCommand(list, false, "uptime", [])).toEqual({ ok: true, argv: ["uptime"] });
    expect(resolveCommand(list, false, "uptime", ["-p"])).toEqual({ ok: false, reason: 'command "uptime" takes no arguments' });
  });

  test("{args} becomes each arg as its own argv element, wherever it stands", () => {
    expect(resolveCommand(list, false, "echo", [])).toEqual({ ok: true, argv: ["echo"] });
    expect(resolveCommand(list, false, "echo", ["a b", "$(id)"])).toEqual({ ok: true, argv: ["echo", "a b", "$(id)"] });
    expect(resolveCommand(list, false, "grep", ["-v", "x"])).toEqual({
      ok: true,
      argv: ["grep", "-n", "--", "-v", "x", "/var/log/syslog"],
    });
  });

  test("anything else is rejected, unless --allow-any, which runs the argv literally", () => {
    expect(resolveCommand(list, false, "rm", ["-rf", "/"])).toEqual({
      ok: false,
      reason: `command "rm" is not in this agent's allow-list`,
    });
    expect(resolveCommand(list, true, "rm", ["-rf", "x"])).toEqual({ ok: true, argv: ["rm", "-rf", "x"] });
    expect(resolveCommand(list, true, "echo", ["x"])).toEqual({ ok: true, argv: ["echo", "x"] });
  });

  test("names are looked up as own keys only", () => {
    for (const name of ["constructor", "__proto__", "toString", "hasOwnProperty"]) {
      expect(resolveCommand(list, false, name, [])).toMatchObject({ ok: false });
    }
  });

  test("the schema refuses templates that would be ambiguous", () => {
    expect(AllowListSchema.safeParse({ x: [] }).success).toBe(false);
    expect(AllowListSchema.safeParse({ x: ["{args}"] }).success).toBe(false);
    expect(AllowListSchema.safeParse({ x: ["echo", "{args}", "{args}"] }).success).toBe(false);
    expect(AllowListSchema.safeParse({ x: "echo hi" }).success).toBe(false);
  });
});
