import { UsageError, parseDuration, parseRunArgs } from "./args";

const parse = (...argv: string[]) => parseRunArgs(argv, { TETHER_API_URL: "http://api.example:8000/" });

test("a full command line: target, window, stop, timeout, api; COMMAND then its ARGs", () => {
  const opts = parse(
    ...["run", "--team", "web", "--host", "a", "--host", "b", "--label", "env=prod", "--label", "k=a=b"],
    ...["systemctl restart nginx", "--max-parallel", "5", "--stop-on-failure", "--timeout", "2m", "--", "-x", "y"],
  );
  expect(opts).toEqual({
    command: "systemctl restart nginx",
    args: ["-x", "y"],
    target: { team_id: "web", hosts: ["a", "b"], labels: { env: "prod", k: "a=b" } },
    maxParallel: 5,
    stopOnFailure: true,
    timeoutMs: 120_000,
    apiUrl: "http://api.example:8000",
    pollMs: 500,
    quiet: false,
  });
  expect(parseRunArgs(["run", "--team", "web", "x"], {})?.apiUrl).toBe("http://127.0.0.1:8000");
  expect(parse("--help")).toBeNull();
});

test("durations", () => {
  expect([parseDuration("90"), parseDuration("90s"), parseDuration("1.5m"), parseDuration("1500ms"), parseDuration("1h")]).toEqual([
    90_000, 90_000, 90_000, 1500, 3_600_000,
  ]);
  expect(() => parseDuration("soon")).toThrow(UsageError);
});

test.each([
  [["deploy"], /no subcommand|unknown subcommand/],
  [["run", "deploy"], /no target/],
  [["run", "--team", "web"], /no COMMAND/],
  [["run", "--team", "Web!", "x"], /^--team: /],
  [["run", "--label", "novalue", "x"], /^--label: /],
  [["run", "--team", "web", "--max-parallel", "0", "x"], /^--max-parallel: /],
  [["run", "--team", "web", "--timeout", "100ms", "x"], /^--timeout: /],
  [["run", "--team", "web", "--api", "ftp://x", "x"], /^--api: /],
  [["run", "--team", "web", "--bogus", "x"], /bogus/],
])("usage error: %j", (argv, message) => {
  expect(() => parse(...argv)).toThrow(message);
});
