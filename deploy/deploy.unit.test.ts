/**
 * The deployment files, checked without a Docker engine (none runs where the tests run):
 * docker-compose.yml parsed and held to the production shape, the Dockerfile's stages, the nginx
 * template's placeholders and timeouts, and the README's configuration table against the config
 * schema. The nginx config itself runs for real in test/e2e/ops-lb.e2e.test.ts.
 */
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parse } from "yaml";
import { ConfigSchema, loadConfig } from "../packages/core/src/config";
import { BUILT_SERVICES, builtEntry } from "../scripts/build";
import { NGINX_TEMPLATE, TemplateError, renderTemplate, templateVariables } from "./nginx/render";

const ROOT = path.resolve(__dirname, "..");
const read = (file: string): string => readFileSync(path.join(ROOT, file), "utf8");

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition?: string }>;
  healthcheck?: { test?: string[] };
  deploy?: { replicas?: number };
  profiles?: string[];
  ports?: (string | { target: number; published: string; host_ip: string })[];
  networks?: string[];
  secrets?: string[];
  volumes?: string[];
  init?: boolean;
  stop_grace_period?: string;
}
interface Compose {
  services: Record<string, ComposeService>;
  networks?: Record<string, { internal?: boolean }>;
  secrets?: Record<string, { file?: string }>;
  volumes?: Record<string, unknown>;
}

// `merge: true`: the file shares env and service settings through YAML anchors and `<<`, as Compose does.
const compose = parse(read("docker-compose.yml"), { merge: true }) as Compose;
const service = (name: string): ComposeService => {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service "${name}"`);
  return found;
};
const TETHER = ["api", "hub", "worker"] as const;

/** Compose interpolation with every `${VAR:-default}` at its default and `${VAR:?msg}` set to `required`. */
function interpolate(value: string, required: Record<string, string>): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::-([^}]*)|:\?[^}]*)?\}/g, (_m, name: string, fallback?: string) => {
    if (fallback !== undefined) return fallback;
    const given = required[name];
    if (given === undefined) throw new Error(`no test value for required \${${name}}`);
    return given;
  });
}

/** `1h`, `90s`, `500ms`, `15s` → milliseconds (nginx and Compose durations). */
function durationMs(text: string): number {
  const m = /^(\d+)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`not a duration: ${text}`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? "s") as "ms" | "s" | "m" | "h"];
}

describe("docker-compose.yml", () => {
  test("has Redis, the api, the hubs, a worker and a load balancer (the services of no profile: what `docker compose up` starts)", () => {
    // The `cluster` profile's services are checked in compose-lint.unit.test.ts.
    const byDefault = Object.keys(compose.services).filter((name) => compose.services[name]!.profiles === undefined);
    expect(byDefault.sort()).toEqual(["api", "hub", "lb", "redis", "worker"]);
  });

  test("Redis 7 with AOF on, ACL users from render-acl.sh, only on an internal network, a volume for /data and a redis-cli ping healthcheck", () => {
    const redis = service("redis");
    expect(redis.image).toMatch(/^redis:7(\b|-|$)/);
    const command = redis.command!.join(" ");
    expect(command).toContain("--appendonly yes");
    expect(command).toContain("--maxmemory-policy noeviction");
    expect(command).toContain("sh /etc/tether-redis/render-acl.sh > /tmp/users.acl");
    expect(command).toContain("--aclfile /tmp/users.acl");
    expect(redis.volumes).toContain("./deploy/redis:/etc/tether-redis:ro");
    expect(redis.ports).toBeUndefined();
    expect(redis.networks).toEqual(["backend"]);
    expect(compose.networks?.backend?.internal).toBe(true);
    for (const name of ["API", "HUB", "WORKER"]) {
      expect(redis.environment![`REDIS_${name}_PASSWORD`]).toMatch(new RegExp(`^\\$\\{REDIS_${name}_PASSWORD:\\?.+\\}$`));
    }
    expect(redis.healthcheck!.test!.join(" ")).toMatch(/redis-cli --user healthcheck .*ping/);
    const [volume, target] = redis.volumes![0]!.split(":");
    expect(target).toBe("/data");
    expect(compose.volumes).toHaveProperty(volume!);
  });

  test.each(TETHER)("%s: the one image, its entrypoint run by node itself, /readyz healthcheck, after a healthy Redis", (name) => {
    const svc = service(name);
    expect(svc.image).toBe(service("api").image);
    expect(svc.build).toBe(".");
    // The built JavaScript of the same entry files the test harness runs (scripts/build.ts), run
    // by node itself so a SIGTERM from `docker stop` reaches the service.
    expect(svc.command).toEqual(["node", "--enable-source-maps", builtEntry(name)]);
    expect(svc.init).toBe(true);
    const check = svc.healthcheck!.test!;
    expect(check.slice(0, 3)).toEqual(["CMD", "node", "-e"]);
    expect(check[3]).toContain("fetch('http://127.0.0.1:8000/readyz')");
    expect(svc.depends_on).toEqual({ redis: { condition: "service_healthy" } });
    // The hub needs longer than its own 10 s shutdown bound before Docker SIGKILLs it.
    expect(durationMs(svc.stop_grace_period!)).toBeGreaterThan(10_000);
  });

  test("api and hubs read one signing key from the same Compose secret; the worker, which signs nothing, has none", () => {
    expect(service("api").secrets).toEqual(["command-signing-key"]);
    expect(service("hub").secrets).toEqual(service("api").secrets);
    expect(service("hub").environment!.COMMAND_SIGNING_KEY_FILE).toBe(service("api").environment!.COMMAND_SIGNING_KEY_FILE);
    expect(service("worker").secrets).toBeUndefined();
    expect(service("worker").environment!.COMMAND_SIGNING_KEY_FILE).toBeUndefined();
  });

  test("two hub replicas that publish no host ports", () => {
    expect(service("hub").deploy?.replicas).toBe(2);
    for (const name of TETHER) expect(service(name).ports).toBeUndefined();
  });

  test("api, hubs and worker share SESSION_SECRET (required), run in production behind one trusted proxy", () => {
    const envs = TETHER.map((name) => service(name).environment!);
    for (const env of envs) {
      expect(env.SESSION_SECRET).toMatch(/^\$\{SESSION_SECRET:\?.+\}$/);
      expect(env).toMatchObject({ NODE_ENV: "production", TRUST_PROXY: "1", PORT: "8000" });
      expect(env.ALLOWED_ORIGINS).toBe(envs[0]!.ALLOWED_ORIGINS);
    }
    // Each service logs in to Redis as its own ACL user (deploy/redis/render-acl.sh).
    for (const name of TETHER) {
      expect(service(name).environment!.REDIS_URL).toBe(`redis://tether-${name}:\${REDIS_${name.toUpperCase()}_PASSWORD}@redis:6379`);
      expect(service(name).networks).toEqual(["default", "backend"]);
    }
    expect(service("api").environment).toMatchObject({
      ADMIN_USER: expect.any(String),
      ADMIN_PASSWORD: expect.stringMatching(/^\$\{ADMIN_PASSWORD:\?/),
    });
  });

  test.each(TETHER)("%s: every variable is one Tether reads, and the environment as interpolated passes the config schema", (name) => {
    const env = service(name).environment!;
    const known = Object.keys(ConfigSchema.shape);
    expect(Object.keys(env).filter((key) => !known.includes(key))).toEqual([]);
    const values = Object.fromEntries(
      Object.entries(env).map(([key, value]) => [
        key,
        interpolate(String(value), {
          SESSION_SECRET: "s".repeat(64),
          ADMIN_PASSWORD: "a-long-password",
          REDIS_API_PASSWORD: "p1",
          REDIS_HUB_PASSWORD: "p2",
          REDIS_WORKER_PASSWORD: "p3",
        }),
      ]),
    );
    // api and hubs sign (COMMAND_SIGNING_KEY_FILE, a Compose secret at /run/secrets/<name>):
    // here a key of our own stands in for the file the container sees.
    const signs = name !== "worker";
    let keyDir: string | undefined;
    if (signs) {
      const secretName = service(name).secrets![0]!;
      expect(compose.secrets?.[secretName]?.file).toBeDefined();
      expect(values.COMMAND_SIGNING_KEY_FILE).toBe(`/run/secrets/${secretName}`);
      keyDir = mkdtempSync(path.join(os.tmpdir(), "tether-compose-key-"));
      values.COMMAND_SIGNING_KEY_FILE = path.join(keyDir, "key.pem");
      writeFileSync(values.COMMAND_SIGNING_KEY_FILE, generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }));
    } else {
      expect(values.COMMAND_SIGNING_KEY_FILE).toBeUndefined();
    }
    const config = loadConfig(values, { signsCommands: signs });
    if (keyDir) rmSync(keyDir, { recursive: true, force: true });
    expect(config.ALLOWED_ORIGINS).toEqual(["http://localhost:8080"]);
    expect(config.TRUST_PROXY).toBe(true);
  });

  test("nginx from its official image (1.27.3+ for `resolve`), rendering the repo's template, after healthy api and hubs", () => {
    const lb = service("lb");
    const tag = /^nginx:(\d+)\.(\d+)/.exec(lb.image!);
    expect(tag).not.toBeNull();
    expect(Number(tag![1]) * 1000 + Number(tag![2])).toBeGreaterThanOrEqual(1028);
    expect(lb.depends_on).toEqual({ api: { condition: "service_healthy" }, hub: { condition: "service_healthy" } });
    const [source, target] = lb.volumes![0]!.split(":");
    expect(path.resolve(ROOT, source!)).toBe(NGINX_TEMPLATE);
    // The image renders /etc/nginx/templates/X.template into /etc/nginx/conf.d/X; default.conf
    // replaces its welcome page, which would otherwise answer for Host: localhost.
    expect(target).toBe("/etc/nginx/templates/default.conf.template");
    const env = lb.environment!;
    expect(Object.keys(env).sort()).toEqual(templateVariables(readFileSync(NGINX_TEMPLATE, "utf8")));
    // Published on one interface, this machine's loopback unless LB_ADDRESS says otherwise.
    expect(lb.ports).toEqual([{ target: Number(env.TETHER_LISTEN), published: "${LB_PORT:-8080}", host_ip: "${LB_ADDRESS:-127.0.0.1}" }]);
    // max_fails=0: see the template's upstream block (a hub that restarted once is never throttled).
    expect(env.TETHER_HUB_SERVERS).toMatch(/server hub:8000 resolve max_fails=0;/);
    expect(env.TETHER_API_SERVERS).toMatch(/server api:8000 resolve;/);
  });
});

describe("nginx template", () => {
  const template = readFileSync(NGINX_TEMPLATE, "utf8");
  const wsLocation = /location = \/ws \{([^}]*)\}/.exec(template)?.[1] ?? "";
  const directive = (block: string, name: string): string | undefined => new RegExp(`^\\s*${name}\\s+([^;]+);`, "m").exec(block)?.[1];

  test("needs the listen address and both upstreams", () => {
    expect(templateVariables(template)).toEqual(["TETHER_API_SERVERS", "TETHER_HUB_SERVERS", "TETHER_LISTEN"]);
  });

  test("/ws upgrades to the hubs and outlives at least two pings", () => {
    expect(wsLocation).toContain("proxy_pass http://tether_hubs;");
    expect(directive(wsLocation, "proxy_http_version")).toBe("1.1");
    expect(directive(wsLocation, "proxy_set_header Upgrade")).toBe("$http_upgrade");
    expect(directive(wsLocation, "proxy_set_header Connection")).toBe("$tether_connection");
    const composePing = Number(interpolate(service("hub").environment!.PING_INTERVAL_MS!, {}));
    const ping = Math.max(ConfigSchema.parse({}).PING_INTERVAL_MS, composePing);
    for (const name of ["proxy_read_timeout", "proxy_send_timeout"]) {
      expect(durationMs(directive(wsLocation, name)!)).toBeGreaterThanOrEqual(2 * ping);
    }
  });

  test("renders like envsubst: placeholders filled, nginx's own variables untouched", () => {
    const out = renderTemplate("listen $TETHER_LISTEN; ${TETHER_HUB_SERVERS} $http_upgrade ${TETHER_API_SERVERS}", {
      TETHER_LISTEN: "8080",
      TETHER_HUB_SERVERS: "server a:1;",
      TETHER_API_SERVERS: "server b:2;",
    });
    expect(out).toBe("listen 8080; server a:1; $http_upgrade server b:2;");
    const rendered = renderTemplate(template, {
      TETHER_LISTEN: "80",
      TETHER_HUB_SERVERS: "server h:1;",
      TETHER_API_SERVERS: "server a:1;",
    });
    expect(rendered).not.toMatch(/\$\{?TETHER_[A-Z]/);
    expect(rendered).toContain("proxy_set_header Upgrade $http_upgrade;");
  });

  test("a missing value is an error naming it", () => {
    expect(() => renderTemplate(template, { TETHER_LISTEN: "80" })).toThrow(TemplateError);
    expect(() => renderTemplate(template, { TETHER_LISTEN: "80" })).toThrow("TETHER_API_SERVERS, TETHER_HUB_SERVERS");
  });
});

describe("Dockerfile", () => {
  const lines = read("Dockerfile")
    .split("\n")
    .filter((line) => line.trim() && !line.trimStart().startsWith("#"));
  // Stages by name, each with its instructions (continuation lines joined).
  const stages = new Map<string, { from: string; steps: string[] }>();
  let current: { from: string; steps: string[] } | undefined;
  for (const line of lines
    .join("\n")
    .replace(/\\\n\s*/g, " ")
    .split("\n")) {
    const from = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) {
      current = { from: from[1]!, steps: [] };
      stages.set(from[2] ?? `stage${stages.size}`, current);
    } else {
      current?.steps.push(line.trim());
    }
  }
  const final = [...stages.values()].at(-1)!;
  const workspaces = (JSON.parse(read("package.json")) as { workspaces: string[] }).workspaces;
  const ignored = read(".dockerignore")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));

  test("is multi-stage: dependencies, the dashboard build, runtime dependencies, a runtime", () => {
    expect([...stages.keys()]).toEqual(["manifests", "deps", "build", "prod-deps", "runtime"]);
    expect(stages.get("deps")!.steps.join("\n")).toMatch(/npm ci\b/);
    expect(stages.get("build")!.steps).toContain("RUN npm run build");
    expect(stages.get("prod-deps")!.steps.join("\n")).toMatch(/npm ci --omit=dev\b/);
  });

  test("copies every workspace's package.json before `npm ci` (else npm ci fails on the lockfile)", () => {
    const copied = stages
      .get("manifests")!
      .steps.filter((s) => /^COPY \S+\/package\.json /.test(s))
      .map((s) => path.dirname(s.split(/\s+/)[1]!));
    expect(copied.sort()).toEqual([...workspaces].sort());
  });

  test("the runtime stage runs as a non-root user, in production, with runtime dependencies and the built dashboard", () => {
    const steps = final.steps.join("\n");
    expect(steps).toMatch(/^USER (?!root\b|0\b)\S+/m);
    expect(steps).toContain("NODE_ENV=production");
    expect(steps).toContain("COPY --from=prod-deps /app ./");
    expect(steps).toContain("COPY --from=build /app/web/dist web/dist");
    for (const name of BUILT_SERVICES) expect(steps).toContain(`COPY --from=build /app/services/${name}/dist services/${name}/dist`);
    // Built JavaScript only: no TypeScript sources, no tsx at run time.
    expect(steps).not.toMatch(/^COPY (packages|services) /m);
    expect(steps).not.toMatch(/--from=deps\b/);
    const cmd = final.steps.at(-1)!;
    expect(cmd.startsWith("CMD ")).toBe(true);
    expect(JSON.parse(cmd.slice(4))).toEqual(["node", "--enable-source-maps", builtEntry("api")]);
  });

  test("every file it copies from the context exists and is not excluded by .dockerignore", () => {
    const sources = [...stages.values()]
      .flatMap((s) => s.steps)
      .filter((s) => s.startsWith("COPY ") && !s.includes("--from="))
      .flatMap((s) => s.split(/\s+/).slice(1, -1));
    expect(sources.length).toBeGreaterThan(5);
    for (const source of sources) {
      expect({ source, exists: existsSync(path.join(ROOT, source)) }).toEqual({ source, exists: true });
      const excluded = ignored.some((pattern) => pattern === source || pattern === `**/${path.basename(source)}`);
      expect({ source, excluded }).toEqual({ source, excluded: false });
    }
  });

  test(".dockerignore keeps host dependencies, local data and secrets out", () => {
    expect(ignored).toEqual(expect.arrayContaining([".git", "**/node_modules", ".data", ".env", "**/dist"]));
  });
});

describe("README configuration table", () => {
  // Rows of the table under "## Configuration": | `NAME` | meaning | default |
  const readme = read("README.md");
  const section = /\n## Configuration\n([\s\S]*?)(\n## |$)/.exec(readme)?.[1] ?? "";
  const rows = new Map(
    [...section.matchAll(/^\| `([A-Z0-9_]+)`(?:, `([A-Z0-9_]+)`)? \|([^|]*)\|([^|]*)\|$/gm)].flatMap((m) =>
      [m[1]!, m[2]]
        .filter((n): n is string => n !== undefined)
        .map((name) => [name, { meaning: m[3]!.trim(), fallback: m[4]!.trim() }] as const),
    ),
  );
  const defaults = ConfigSchema.parse({}) as Record<string, unknown>;

  test("lists every variable of packages/core/src/config.ts, and nothing else", () => {
    expect([...rows.keys()].sort()).toEqual(Object.keys(ConfigSchema.shape).sort());
  });

  test.each(Object.keys(ConfigSchema.shape))("%s: meaning given, default as in the schema", (name) => {
    const row = rows.get(name);
    expect(row?.meaning).toMatch(/\w{3}/);
    const value = defaults[name];
    if ((typeof value === "number" || typeof value === "string") && value !== "") {
      expect(row?.fallback).toContain(`\`${value}\``);
    }
  });
});
