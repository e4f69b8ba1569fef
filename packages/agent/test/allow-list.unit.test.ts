/**
 * Allow-list templates with typed parameters (issue 13 point 4), and the issue's attacks on them:
 * `tail -n 3 -- {args}` printing the agent's token file, `grep {args} file` taking
 * `-r root /etc/passwd`. Path parameters are checked against real files (realpath) in a temp dir.
 */
import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { AllowListSchema, resolveCommand, type AllowList } from "../src/allow-list";
import type { OwnFiles } from "../src/own-files";
import { tempDir } from "./support/harness";

let tmp: ReturnType<typeof tempDir>;
let root: string;
let own: OwnFiles;
let list: AllowList;

beforeAll(() => {
  tmp = tempDir();
  root = realpathSync(tmp.dir);
  mkdirSync(path.join(root, "logs"));
  mkdirSync(path.join(root, "agent"));
  writeFileSync(path.join(root, "logs", "app.log"), "a\nb\nc\n");
  writeFileSync(path.join(root, "agent", "token"), "secret-token");
  writeFileSync(path.join(root, "agent", "state.json"), "{}");
  symlinkSync(path.join(root, "agent", "token"), path.join(root, "logs", "innocent.log"));
  symlinkSync(path.join(root, "agent"), path.join(root, "logs", "dir-link"));
  own = { files: [path.join(root, "agent", "token"), path.join(root, "agent", "state.json")], pid: process.pid };
  list = AllowListSchema.parse({
    uptime: ["uptime"],
    "tail-log": ["tail", "-n", "{lines:int}", "--", `{file:path(${root}/**)}`],
    grep: ["grep", "-n", "{pattern:re([A-Za-z0-9 ]{1,64})}", "/var/log/syslog"],
    restart: ["systemctl", "restart", "{unit:enum(nginx|redis)}"],
    verbose: ["ls", "{flag:enum(-l|-a)}"],
    shift: ["date", "-d", "{days:int,dash}"],
    awk: ["awk", "{print $1}", '{"json":1}'],
  });
});
afterAll(() => tmp.cleanup());

const run = (command: string, args: string[]) => resolveCommand(list, false, command, args, own);

describe("typed parameters", () => {
  test("a template without parameters runs as is and refuses args; literals that look like braces stay literal", () => {
    expect(run("uptime", [])).toEqual({ ok: true, argv: ["uptime"] });
    expect(run("uptime", ["-p"])).toEqual({ ok: false, reason: 'command "uptime" takes no arguments, got 1' });
    expect(run("awk", [])).toEqual({ ok: true, argv: ["awk", "{print $1}", '{"json":1}'] });
  });

  test("each argument fills its parameter, in order, matched whole", () => {
    expect(run("tail-log", ["3", `${root}/logs/app.log`])).toEqual({
      ok: true,
      argv: ["tail", "-n", "3", "--", `${root}/logs/app.log`],
    });
    expect(run("restart", ["nginx"])).toEqual({ ok: true, argv: ["systemctl", "restart", "nginx"] });
    expect(run("grep", ["error 42"])).toEqual({ ok: true, argv: ["grep", "-n", "error 42", "/var/log/syslog"] });
    expect(run("restart", ["nginx2"])).toMatchObject({ ok: false, reason: expect.stringContaining("is not one of nginx, redis") });
    expect(run("restart", ["nginx; id"])).toMatchObject({ ok: false });
    expect(run("tail-log", ["3x", `${root}/logs/app.log`])).toMatchObject({ ok: false, reason: expect.stringContaining("not an integer") });
    expect(run("grep", ["error\nroot"])).toMatchObject({ ok: false, reason: expect.stringContaining("does not match") });
    expect(run("tail-log", ["3"])).toEqual({ ok: false, reason: 'command "tail-log" takes 2 arguments, got 1' });
  });

  test('values starting with "-" are refused unless the template allows it (",dash", or listed in an enum)', () => {
    expect(run("tail-log", ["-5", `${root}/logs/app.log`])).toMatchObject({
      ok: false,
      reason: expect.stringContaining('starts with "-"'),
    });
    expect(run("shift", ["-5"])).toEqual({ ok: true, argv: ["date", "-d", "-5"] });
    expect(run("verbose", ["-l"])).toEqual({ ok: true, argv: ["ls", "-l"] });
    expect(run("verbose", ["-rf"])).toMatchObject({ ok: false });
  });

  test("attack: grep {pattern} taking -r root /etc/passwd", () => {
    expect(run("grep", ["-r", "root", "/etc/passwd"])).toEqual({ ok: false, reason: 'command "grep" takes 1 argument, got 3' });
    expect(run("grep", ["-r"])).toMatchObject({ ok: false, reason: expect.stringContaining('starts with "-"') });
    expect(run("grep", ["root /etc/passwd -r"])).toMatchObject({ ok: false }); // "/" and "-" are outside the regex
  });

  test("attack: tail -- {file:path} reading the agent's token file, by name, symlink, .., its directory or siblings", () => {
    const refused = (value: string) => expect(run("tail-log", ["3", value])).toMatchObject({ ok: false });
    refused(`${root}/agent/token`);
    refused(`${root}/logs/innocent.log`); // a symlink to the token
    refused(`${root}/logs/../agent/token`);
    refused(`${root}/logs/dir-link/token`); // through a symlinked directory
    refused(`${root}/agent`); // a directory that holds it (grep -r would read it)
    refused(`${root}/logs/dir-link`);
    refused(root);
    refused(`${root}/agent/state.json.123.tmp`); // the state file's temp sibling
    refused(`/proc/${process.pid}/environ`); // the agent's own environment
    refused("/proc/self/environ");
    refused("logs/app.log"); // relative: the program's cwd is not ours to guess
    refused("/etc/passwd"); // outside the glob
    refused(`${root}/logs/.hidden`); // * and ** skip dot names
    for (const value of [`${root}/agent/token`, `${root}/logs/innocent.log`])
      expect(run("tail-log", ["3", value])).toMatchObject({ reason: expect.stringContaining("one of the agent's own files") });
  });

  test("a path parameter passes the resolved path, so a symlink swapped after the check changes nothing", () => {
    symlinkSync(path.join(root, "logs", "app.log"), path.join(root, "logs", "current.log"));
    expect(run("tail-log", ["1", `${root}/logs/current.log`])).toEqual({
      ok: true,
      argv: ["tail", "-n", "1", "--", `${root}/logs/app.log`],
    });
    // A file that does not exist yet resolves through its real parent.
    expect(run("tail-log", ["1", `${root}/logs/new.log`])).toEqual({ ok: true, argv: ["tail", "-n", "1", "--", `${root}/logs/new.log`] });
  });

  test("anything else is rejected, unless --allow-any, which runs the argv literally", () => {
    expect(run("rm", ["-rf", "/"])).toEqual({ ok: false, reason: `command "rm" is not in this agent's allow-list` });
    expect(resolveCommand(list, true, "rm", ["-rf", "x"], own)).toEqual({ ok: true, argv: ["rm", "-rf", "x"] });
  });

  test("names are looked up as own keys only", () => {
    for (const name of ["constructor", "__proto__", "toString", "hasOwnProperty"]) expect(run(name, [])).toMatchObject({ ok: false });
  });
});

describe("the schema", () => {
  const error = (commands: unknown) => {
    const res = AllowListSchema.safeParse(commands);
    return res.success ? null : res.error.issues[0]!.message;
  };

  test('refuses the v1 "{args}" placeholder, saying how to migrate', () => {
    expect(error({ tail: ["tail", "-n", "3", "--", "{args}"] })).toMatch(/^"\{args\}" is no longer accepted.*\{n:int\}/);
  });

  test("refuses malformed or ambiguous templates", () => {
    expect(error({ x: [] })).not.toBeNull();
    expect(error({ x: ["{a:int}"] })).toMatch(/first element must be the program/);
    expect(error({ x: ["echo", "{a:integer}"] })).toMatch(/unknown parameter type/);
    expect(error({ x: ["echo", "{a:re(()}"] })).toMatch(/bad regular expression/);
    expect(error({ x: ["echo", "{a:enum(a||b)}"] })).toMatch(/enum values must not be empty/);
    expect(error({ x: ["cat", "{a:path(var/**)}"] })).toMatch(/absolute path/);
    expect(error({ x: ["cat", "{a:path(/var/../etc/**)}"] })).toMatch(/without ".."/);
    expect(error({ x: ["echo", "{a:int}", "{a:int}"] })).toMatch(/once/);
    expect(error({ x: "echo hi" })).not.toBeNull();
  });
});

describe("properties (fast-check)", () => {
  const template = AllowListSchema.parse({
    t: ["prog", "--fixed", "{word:re([a-z]{1,8})}", "{n:int}", "{mode:enum(a|b)}", "tail"],
  });
  const resolve = (args: string[]) => resolveCommand(template, false, "t", args, own);

  test("a value is accepted exactly when it matches its type whole, and the argv keeps the template's shape", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), (word, n, mode) => {
        const res = resolve([word, n, mode]);
        const expected = /^[a-z]{1,8}$/u.test(word) && /^(0|[1-9][0-9]{0,15})$/.test(n) && ["a", "b"].includes(mode);
        expect(res.ok).toBe(expected);
        if (res.ok) expect(res.argv).toEqual(["prog", "--fixed", word, n, mode, "tail"]);
      }),
      { numRuns: 2000 },
    );
  });

  test("no value starting with - ever reaches a parameter that does not allow it; wrong counts never resolve", () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.string(), fc.constantFrom("-r", "--", "-1", "a", "0"))), (args) => {
        const res = resolve(args);
        if (args.length !== 3) expect(res.ok).toBe(false);
        if (res.ok) for (const v of res.argv.slice(2, 5)) expect(v.startsWith("-")).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });
});
