/**
 * docker-compose.yml through dclint (a maintained Compose linter: the Compose JSON schema plus
 * best-practice and style rules), with the repository's .dclintrc.yaml, which turns off or
 * tunes each rule on purpose. `npx dclint docker-compose.yml` runs the same by hand.
 * The file's meaning is checked against the code in deploy.unit.test.ts.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DCLinter } from "dclint";
import { parse } from "yaml";
import { isClusterUrl, loadConfig } from "../packages/core/src";

const ROOT = path.resolve(__dirname, "..");
const COMPOSE = path.join(ROOT, "docker-compose.yml");
const rc = parse(readFileSync(path.join(ROOT, ".dclintrc.yaml"), "utf8")) as Pick<DCLinterConfig, "rules">;
type DCLinterConfig = ConstructorParameters<typeof DCLinter>[0];
const linter = new DCLinter({ rules: rc.rules, quiet: false, debug: false, exclude: [] });

/** Lints one file; returns `line rule: message` for each finding. */
function lint(file: string): string[] {
  return linter.lintFiles([file], false).flatMap((result) => result.messages.map((m) => `${m.line} ${m.rule}: ${m.message}`));
}

/** Lints a variant of docker-compose.yml (written to a temp dir, same folder layout not needed). */
function lintVariant(edit: (text: string) => string): string[] {
  const dir = mkdtempSync(path.join(os.tmpdir(), "tether-dclint-"));
  try {
    const file = path.join(dir, "docker-compose.yml");
    writeFileSync(file, edit(readFileSync(COMPOSE, "utf8")));
    return lint(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("docker-compose.yml passes dclint with the repository's configuration: no errors, no warnings", () => {
  expect(lint(COMPOSE)).toEqual([]);
});

test("every rule the configuration changes is one dclint has, and says why in a comment", () => {
  const known = new Set([
    "no-build-and-image",
    "no-duplicate-container-names",
    "no-duplicate-exported-ports",
    "no-quotes-in-volumes",
    "no-unbound-port-interfaces",
    "no-version-field",
    "require-project-name-field",
    "require-quotes-in-ports",
    "service-container-name-regex",
    "service-dependencies-alphabetical-order",
    "service-image-require-explicit-tag",
    "service-keys-order",
    "service-ports-alphabetical-order",
    "services-alphabetical-order",
    "top-level-properties-order",
  ]);
  for (const rule of Object.keys(rc.rules)) expect({ rule, known: known.has(rule) }).toEqual({ rule, known: true });
  const text = readFileSync(path.join(ROOT, ".dclintrc.yaml"), "utf8");
  for (const rule of Object.keys(rc.rules)) {
    // The comment lines right above the rule's line.
    const above =
      text
        .slice(0, text.indexOf(`  ${rule}:`))
        .trimEnd()
        .split("\n")
        .at(-1) ?? "";
    expect({ rule, commented: above.trim().startsWith("#") }).toEqual({ rule, commented: true });
  }
});

test("the linter is live: the load balancer published on every interface is an error again", () => {
  const published = '- target: 80\n        published: "${LB_PORT:-8080}"\n        host_ip: "${LB_ADDRESS:-127.0.0.1}"';
  expect(readFileSync(COMPOSE, "utf8")).toContain(published);
  const found = lintVariant((text) => text.replace(published, '- "${LB_PORT:-8080}:80"'));
  expect(found).toEqual([expect.stringMatching(/no-unbound-port-interfaces: Service "lb" is exporting port "\$\{LB_PORT:-8080\}:80"/)]);
});

test("a key out of the configured order is a warning (the merge key `<<` first)", () => {
  const found = lintVariant((text) =>
    text
      .replace("  api:\n    <<: *tether-service\n    environment:", "  api:\n    environment:")
      .replace("\n  hub:\n", "\n    <<: *tether-service\n\n  hub:\n"),
  );
  expect(found).toEqual(expect.arrayContaining([expect.stringMatching(/service-keys-order: Key "<<" in service "api" is out of order/)]));
});

describe("the `cluster` profile (issue 16): a 3-master Redis Cluster and Tether on it, none of it in the default `docker compose up`", () => {
  interface Service {
    image?: string;
    hostname?: string;
    profiles?: string[];
    command?: string[];
    environment?: Record<string, string>;
    depends_on?: Record<string, { condition?: string }>;
    networks?: string[];
    volumes?: string[];
    ports?: Array<{ target: number; published: string; host_ip: string }>;
    restart?: string;
    deploy?: { replicas?: number };
  }
  const text = readFileSync(COMPOSE, "utf8");
  // Compose merges `<<` (the shared anchors) as YAML 1.1 does.
  const services = (parse(text, { merge: true }) as { services: Record<string, Service> }).services;
  const NODES = ["redis-node-1", "redis-node-2", "redis-node-3"];
  const TETHER_CLUSTER = ["api-cluster", "hub-cluster", "worker-cluster"];
  const CLUSTER = [...NODES, "redis-cluster-init", ...TETHER_CLUSTER, "lb-cluster"];
  const inProfile = Object.keys(services).filter((name) => services[name]!.profiles !== undefined);
  const byDefault = Object.keys(services).filter((name) => services[name]!.profiles === undefined);

  test("its services, every one under `profiles: [cluster]`; the rest (what `docker compose up` starts) is the default stack", () => {
    expect(inProfile.sort()).toEqual([...CLUSTER].sort());
    for (const name of CLUSTER) expect({ name, profiles: services[name]!.profiles }).toEqual({ name, profiles: ["cluster"] });
    expect(byDefault.sort()).toEqual(["api", "hub", "lb", "redis", "worker"]);
  });

  test("the default stack does not lean on the profile: no dependency on its services, no mention of its nodes or password", () => {
    for (const name of byDefault) {
      const svc = services[name]!;
      expect({ name, deps: Object.keys(svc.depends_on ?? {}).filter((d) => inProfile.includes(d)) }).toEqual({ name, deps: [] });
      expect({ name, mentions: /redis-node|REDIS_CLUSTER|LOG_PARTITIONS/.test(JSON.stringify(svc)) }).toEqual({ name, mentions: false });
      expect(svc.environment?.REDIS_URL ?? "").not.toMatch(/\+cluster:/);
    }
  });

  test("it adds no required variable: the .env of the default stack still interpolates the whole file", () => {
    // Compose interpolates every service, active profile or not: a new `${VAR:?}` would stop the default `up`.
    const required = [...new Set([...text.matchAll(/\$\{([A-Z0-9_]+):\?/g)].map((m) => m[1]))].sort();
    expect(required).toEqual(["ADMIN_PASSWORD", "REDIS_API_PASSWORD", "REDIS_HUB_PASSWORD", "REDIS_WORKER_PASSWORD", "SESSION_SECRET"]);
    // The cluster's password is checked where it is used instead: a node refuses to start without it.
    for (const name of NODES)
      expect(services[name]!.command!.join(" ")).toMatch(/test -n "\$\$REDIS_CLUSTER_PASSWORD" \|\| \{.*exit 1; \};/);
  });

  test("three redis:7 masters in cluster mode, each announcing its service name (hostnames as endpoints), on the internal network", () => {
    for (const name of NODES) {
      const node = services[name]!;
      const command = node.command!.join(" ");
      expect(node.image).toBe("redis:7");
      expect(command).toContain("--cluster-enabled yes");
      expect(command).toContain("--port 6379");
      // Clients outside the node reach it by the name it announces: Docker sets HOSTNAME from `hostname`, the service's name.
      expect(command).toContain('--cluster-announce-hostname "$$HOSTNAME"');
      expect(command).toContain("--cluster-preferred-endpoint-type hostname");
      expect(node.hostname).toBe(name);
      expect(command).toContain('--requirepass "$$REDIS_CLUSTER_PASSWORD"');
      expect(command).toContain("--appendonly yes");
      expect(command).toContain("--maxmemory-policy noeviction");
      expect(node.networks).toEqual(["backend"]);
      expect(node.ports).toBeUndefined();
      // Each its own volume (nodes.conf and the AOF survive a restart).
      const [volume, target] = node.volumes![0]!.split(":");
      expect(target).toBe("/data");
      expect(text).toMatch(new RegExp(`^  ${volume}:$`, "m"));
    }
    expect(new Set(NODES.map((n) => services[n]!.volumes![0])).size).toBe(3);
  });

  test("a one-shot redis-cluster-init joins the three nodes, once they are healthy: --cluster create … --cluster-replicas 0 --cluster-yes", () => {
    const init = services["redis-cluster-init"]!;
    expect(init.image).toBe("redis:7");
    expect(init.restart).toBe("no");
    expect(init.depends_on).toEqual(Object.fromEntries(NODES.map((n) => [n, { condition: "service_healthy" }])));
    const script = init.command!.join(" ");
    expect(script).toMatch(/redis-cli --cluster create \$\$nodes --cluster-replicas 0 --cluster-yes/);
    // The nodes it resolves are exactly the three services; an existing cluster is left alone.
    expect(/for name in ([a-z0-9 -]+); do/.exec(script)?.[1]?.split(" ")).toEqual(NODES);
    expect(script).toContain("getent hosts");
    expect(script).toMatch(/cluster info \| grep -q '\^cluster_known_nodes:\[2-9\]'; then .*exit 0; fi/);
    expect(init.networks).toEqual(["backend"]);
  });

  test("api, hubs and worker on the cluster: REDIS_URL=redis+cluster:// naming the three nodes, LOG_PARTITIONS=8, after the init has succeeded", () => {
    for (const name of TETHER_CLUSTER) {
      const svc = services[name]!;
      const plain = services[name.replace("-cluster", "")]!;
      expect(svc.image).toBe(plain.image);
      expect(svc.command).toEqual(plain.command);
      expect(svc.networks).toEqual(plain.networks);
      expect(svc.depends_on).toEqual({ "redis-cluster-init": { condition: "service_completed_successfully" } });
      const env = svc.environment!;
      expect(env.LOG_PARTITIONS).toBe("8");
      const url = /^redis\+cluster:\/\/:\$\{REDIS_CLUSTER_PASSWORD:-\}@(.+)$/.exec(env.REDIS_URL!);
      expect(url?.[1]?.split(",")).toEqual(NODES.map((n) => `${n}:6379`));
      // Everything else as the default stack's service (secrets, session secret, production settings), but the origin.
      const { REDIS_URL: _u, LOG_PARTITIONS: _p, ALLOWED_ORIGINS: origins, ...rest } = env;
      const { REDIS_URL: _pu, ALLOWED_ORIGINS: _po, ...plainRest } = plain.environment!;
      expect(rest).toEqual(plainRest);
      expect(origins).toBe("${CLUSTER_PUBLIC_URL:-http://localhost:8081}");
    }
    expect(services["hub-cluster"]!.deploy?.replicas).toBe(2);
  });

  test("the cluster worker's environment, as interpolated, passes the config schema: a cluster URL and 8 partitions", () => {
    const given: Record<string, string> = { SESSION_SECRET: "s".repeat(64), REDIS_CLUSTER_PASSWORD: "c".repeat(32) };
    const values = Object.fromEntries(
      Object.entries(services["worker-cluster"]!.environment!).map(([key, value]) => [
        key,
        String(value).replace(
          /\$\{([A-Z0-9_]+)(?::-([^}]*)|:\?[^}]*)?\}/g,
          (_m, name: string, fallback?: string) => given[name] ?? fallback ?? "",
        ),
      ]),
    );
    const config = loadConfig(values, { signsCommands: false });
    expect(isClusterUrl(config.REDIS_URL)).toBe(true);
    expect(config.LOG_PARTITIONS).toBe(8);
    expect(config.ALLOWED_ORIGINS).toEqual(["http://localhost:8081"]);
  });

  test("its load balancer fronts the cluster's api and hubs on a port of its own", () => {
    const lb = services["lb-cluster"]!;
    expect(lb.image).toBe(services.lb!.image);
    expect(lb.depends_on).toEqual({ "api-cluster": { condition: "service_healthy" }, "hub-cluster": { condition: "service_healthy" } });
    expect(lb.environment!.TETHER_HUB_SERVERS).toMatch(/server hub-cluster:8000 resolve max_fails=0;/);
    expect(lb.environment!.TETHER_API_SERVERS).toMatch(/server api-cluster:8000 resolve;/);
    expect(lb.ports).toEqual([{ target: 80, published: "${LB_CLUSTER_PORT:-8081}", host_ip: "${LB_ADDRESS:-127.0.0.1}" }]);
    expect(services.lb!.ports![0]!.published).not.toBe(lb.ports![0]!.published);
  });

  test("the checks are live: a cluster service without its profile would join the default `up`, and dclint still lints the profile", () => {
    const stripped = text.replace(/\n {4}profiles: \[cluster\]\n\n {2}api-cluster:/, "\n\n  api-cluster:");
    expect(stripped).not.toBe(text);
    const parsed = (parse(stripped, { merge: true }) as { services: Record<string, Service> }).services;
    expect(Object.keys(parsed).filter((n) => parsed[n]!.profiles === undefined)).toContain("redis-cluster-init");
    const found = lintVariant((t) => t.replace("  redis-cluster-init:\n    image: redis:7\n", "  redis-cluster-init:\n    image: redis\n"));
    expect(found).toEqual([expect.stringMatching(/service-image-require-explicit-tag: .*redis-cluster-init/)]);
  });
});
