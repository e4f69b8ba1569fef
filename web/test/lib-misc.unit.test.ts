import type { Host } from "@tether/protocol";
import { agentCommands, agentRegistered, agentUrl } from "../src/lib/agent-command";
import { countByStatus, matchesFilter } from "../src/lib/host-filter";
import { formatMetric, summarizeMetrics } from "../src/lib/metrics";
import { hrefFor, parseRoute } from "../src/lib/route";

const web: Host = { id: "h1", name: "web-1", status: "online", hostname: "ip-10-0-0-1", os: "linux", labels: { env: "prod", role: "web" } };
const db: Host = { id: "h2", name: "db-1", status: "offline", labels: { env: "staging" } };

describe("matchesFilter", () => {
  it.each<[string, boolean, boolean]>([
    ["", true, true],
    ["WEB", true, false],
    ["ip-10", true, false],
    ["env=prod", true, false],
    ["env:stag", false, true],
    ["role=db", false, false],
    ["staging", false, true],
    ["web prod", true, false],
    ["web staging", false, false],
  ])("%j", (query, matchesWeb, matchesDb) => {
    expect([matchesFilter(web, query), matchesFilter(db, query)]).toEqual([matchesWeb, matchesDb]);
  });

  it("counts online and offline", () => {
    expect(countByStatus([web, db, { ...db, id: "h3" }])).toEqual({ online: 1, offline: 2 });
  });
});

describe("summarizeMetrics", () => {
  it("finds load and memory under common names", () => {
    expect(summarizeMetrics({ load1: 0.5, mem_used_pct: 42 })).toEqual({ load: 0.5, memoryPercent: 42 });
    expect(summarizeMetrics({ loadavg: [1.5, 1, 0.5], totalmem: 1000, freemem: 250 })).toEqual({ load: 1.5, memoryPercent: 75 });
    expect(summarizeMetrics({ mem_total: 200, mem_used: 50 })).toEqual({ memoryPercent: 25 });
    expect(summarizeMetrics({ uptime: 5 })).toEqual({});
    expect(summarizeMetrics(undefined)).toEqual({});
  });

  it("formats any metric value", () => {
    expect([formatMetric(1.23456), formatMetric([1, 2.5]), formatMetric("x"), formatMetric(null), formatMetric(7)]).toEqual([
      "1.23",
      "1 2.5",
      "x",
      "—",
      "7",
    ]);
    expect(formatMetric(25_276_502_016, "mem_total_bytes")).toBe("23.5 GiB");
    expect(formatMetric(512, "agent_rss_bytes")).toBe("512 B");
    expect(formatMetric(22.61, "disk_used_percent")).toBe("22.61%");
    expect(formatMetric(90_061, "uptime_s")).toBe("1 d 1 h");
    expect(formatMetric(42, "uptime_s")).toBe("42");
  });
});

describe("routes", () => {
  it("round-trips", () => {
    for (const route of [
      { view: "fleet" as const },
      { view: "host" as const, hostId: "a/b c" },
      { view: "host" as const, hostId: "h", commandId: "c-1" },
    ]) {
      expect(parseRoute(hrefFor(route))).toEqual(route);
    }
  });

  it("falls back to the fleet", () => {
    expect(parseRoute("")).toEqual({ view: "fleet" });
    expect(parseRoute("#/nonsense")).toEqual({ view: "fleet" });
    expect(parseRoute("#/hosts/%E0%A4%A")).toEqual({ view: "host", hostId: "%E0%A4%A" });
  });
});

describe("agent commands", () => {
  it("uses ws or wss on the page's own host", () => {
    expect(agentUrl({ protocol: "http:", host: "localhost:8000" })).toBe("ws://localhost:8000/ws");
    expect(agentUrl({ protocol: "https:", host: "tether.example.com" })).toBe("wss://tether.example.com/ws");
  });

  it("prints the exact npm and npx lines, the token in the environment, never in the agent's arguments", () => {
    expect(agentCommands("ws://localhost:8000/ws", "tok_abc-123")).toEqual({
      npm: "TETHER_TOKEN=tok_abc-123 npm run agent -- --url ws://localhost:8000/ws",
      npx: "TETHER_TOKEN=tok_abc-123 npx tether-agent --url ws://localhost:8000/ws",
    });
    expect(agentCommands("ws://x/ws", "a b").npm).toBe("TETHER_TOKEN='a b' npm run agent -- --url ws://x/ws");
    for (const line of Object.values(agentCommands("ws://x/ws", "tth_secret"))) {
      // The shell's assignment puts it in the environment; what `ps` shows (the program and its
      // arguments) must not carry it.
      const [assignment, ...argv] = line.split(" ");
      expect(assignment).toBe("TETHER_TOKEN=tth_secret");
      expect(argv.join(" ")).not.toContain("tth_secret");
    }
  });

  it("adds --server-key for each signing key, its PEM on one line in ANSI-C quotes", () => {
    const pem = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAabc+/=\n-----END PUBLIC KEY-----\n";
    expect(agentCommands("ws://x/ws", "t", [pem]).npx).toBe(
      "TETHER_TOKEN=t npx tether-agent --url ws://x/ws --server-key=$'-----BEGIN PUBLIC KEY-----\\nMCowBQYDK2VwAyEAabc+/=\\n-----END PUBLIC KEY-----'",
    );
  });
});

describe("agentRegistered", () => {
  it("needs the host online and registered (register reports the hostname)", () => {
    expect(agentRegistered(undefined)).toBe(false);
    expect(agentRegistered({ status: "offline" })).toBe(false);
    // Online from the socket upgrade, before `register`.
    expect(agentRegistered({ status: "online" })).toBe(false);
    expect(agentRegistered({ status: "online", hostname: "web-1" })).toBe(true);
    // A host that registered once and went away since.
    expect(agentRegistered({ status: "offline", hostname: "web-1" })).toBe(false);
  });
});
