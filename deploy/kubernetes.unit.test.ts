/**
 * deploy/kubernetes/ without a cluster: every object checked against the Kubernetes OpenAPI
 * schemas (kubernetes-models, which validates with the published JSON schemas), the
 * kustomization resolved as kustomize would (its resources exist, parse, and name each object
 * once; no kustomize binary installs from npm or Debian here), and the manifests held to what
 * the code does: entry files, ports, probes, the hub's shutdown bound, variables, Secrets.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { parseAllDocuments, parse } from "yaml";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { Ingress } from "kubernetes-models/networking.k8s.io/v1/Ingress";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import { ConfigSchema } from "../packages/core/src/config";
import { SHUTDOWN_TIMEOUT_MS } from "../packages/core/src/process";
import { BUILT_SERVICES, builtEntry } from "../scripts/build";

const DIR = path.resolve(__dirname, "kubernetes");
const read = (file: string) => readFileSync(path.join(DIR, file), "utf8");

/** A parsed manifest; its shape is what the schemas and these tests check. */
type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- parsed YAML, checked by the schemas and these tests
  [key: string]: any;
};
/** One model class per kind the manifests use; any other kind fails the test. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  "apps/v1/Deployment": Deployment,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "networking.k8s.io/v1/Ingress": Ingress,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "v1/ConfigMap": ConfigMap,
  "v1/Namespace": Namespace,
  "v1/Secret": Secret,
  "v1/Service": Service,
};

function load(file: string): Manifest[] {
  return parseAllDocuments(read(file)).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
    return doc.toJS() as Manifest;
  });
}

const kustomization = parse(read("kustomization.yaml")) as { resources: string[]; namespace: string; images: { name: string }[] };
const objects = kustomization.resources.flatMap((file) => load(file).map((object) => ({ file, object })));
const secretExample = load("secret.example.yaml");
const find = (kind: string, name: string): Manifest => {
  const found = objects.find(({ object }) => object.kind === kind && object.metadata.name === name)?.object;
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
};
const deployment = (name: string) => find("Deployment", `tether-${name}`);
const container = (name: string) => deployment(name).spec.template.spec.containers[0];
const envNames = (name: string): string[] => container(name).env.map((e: { name: string }) => e.name);

describe("the kustomization resolves", () => {
  test("every resource exists, parses, and names each object once", () => {
    for (const file of kustomization.resources) expect({ file, exists: existsSync(path.join(DIR, file)) }).toEqual({ file, exists: true });
    const ids = objects.map(({ object }) => `${object.kind}/${object.metadata.name}`);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort()).toEqual(
      [
        "ConfigMap/tether-config",
        "Deployment/tether-api",
        "Deployment/tether-hub",
        "Deployment/tether-worker",
        "HorizontalPodAutoscaler/tether-hub",
        "Ingress/tether",
        "Namespace/tether",
        "PodDisruptionBudget/tether-hub",
        "Service/tether-api",
        "Service/tether-hub",
      ].sort(),
    );
  });

  test("the Secrets are not resources (an apply never overwrites real ones), and every container image is the one `images` rewrites", () => {
    expect(objects.some(({ object }) => object.kind === "Secret")).toBe(false);
    for (const name of BUILT_SERVICES) expect(container(name).image).toBe(kustomization.images[0]!.name);
  });
});

describe("Kubernetes schemas", () => {
  test.each(
    [...objects, ...secretExample.map((object) => ({ file: "secret.example.yaml", object }))].map(
      (o) => [`${o.file}: ${o.object.kind} ${o.object.metadata.name}`, o.object] as const,
    ),
  )("%s is valid", (_label, object) => {
    const Model = MODELS[`${object.apiVersion}/${object.kind}`];
    expect(Model).toBeDefined();
    expect(() => new Model!(object as never).validate()).not.toThrow();
  });

  test("the validator is live: a wrong type or shape is an error (unknown fields are not: the schemas allow them)", () => {
    const hub = structuredClone(deployment("hub"));
    hub.spec.template.spec.terminationGracePeriodSeconds = "30";
    expect(() => new Deployment(hub as never).validate()).toThrow(/terminationGracePeriodSeconds must be integer/);
    const probe = structuredClone(deployment("hub"));
    probe.spec.template.spec.containers[0].readinessProbe.httpGet.port = { bad: 1 };
    expect(() => new Deployment(probe as never).validate()).toThrow();
  });
});

describe("the manifests match the code", () => {
  test.each(BUILT_SERVICES)("%s runs its built JavaScript with node, non-root, read-only, probes on /readyz and /healthz", (name) => {
    const c = container(name);
    expect(c.command).toEqual(["node", "--enable-source-maps", builtEntry(name)]);
    expect(c.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "http" });
    expect(c.livenessProbe.httpGet).toEqual({ path: "/healthz", port: "http" });
    const http = c.ports.find((p: { name: string }) => p.name === "http");
    const ops = c.ports.find((p: { name: string }) => p.name === "ops");
    expect(c.env).toContainEqual({ name: "PORT", value: String(http.containerPort) });
    // The ops listener's default: PORT + 1000, where Prometheus scrapes /metrics.
    expect(ops.containerPort).toBe(http.containerPort + 1000);
    expect(deployment(name).spec.template.metadata.annotations).toMatchObject({
      "prometheus.io/scrape": "true",
      "prometheus.io/port": String(ops.containerPort),
      "prometheus.io/path": "/metrics",
    });
    const pod = deployment(name).spec.template.spec;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    expect(c.securityContext).toMatchObject({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    expect(c.resources.requests).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
    expect(c.resources.limits.memory).toBeDefined();
    // Each service logs in to Redis as its own user.
    expect(c.env).toContainEqual({ name: "REDIS_URL", valueFrom: { secretKeyRef: { name: "tether-redis", key: `${name}-url` } } });
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(SHUTDOWN_TIMEOUT_MS);
  });

  test.each(BUILT_SERVICES)("%s: every variable is one Tether reads; the ConfigMap's too, and they pass the config schema", (name) => {
    const known = Object.keys(ConfigSchema.shape);
    expect(envNames(name).filter((n) => !known.includes(n))).toEqual([]);
    const config = find("ConfigMap", "tether-config").data as Record<string, string>;
    expect(Object.keys(config).filter((n) => !known.includes(n))).toEqual([]);
    expect(ConfigSchema.safeParse({ ...config, PORT: "8000", REDIS_URL: "rediss://u:p@redis:6380" }).success).toBe(true);
  });

  test("api and hubs sign commands (key from a Secret file) and share SESSION_SECRET; the worker gets neither", () => {
    for (const name of ["api", "hub"]) {
      const c = container(name);
      const file = c.env.find((e: { name: string }) => e.name === "COMMAND_SIGNING_KEY_FILE").value as string;
      const mount = c.volumeMounts.find((m: { mountPath: string }) => file.startsWith(`${m.mountPath}/`));
      const volume = deployment(name).spec.template.spec.volumes.find((v: { name: string }) => v.name === mount.name);
      expect(volume.secret.secretName).toBe("tether-signing");
      expect(path.posix.join(mount.mountPath, volume.secret.items[0].path)).toBe(file);
      expect(envNames(name)).toContain("SESSION_SECRET");
    }
    expect(envNames("worker")).not.toContain("SESSION_SECRET");
    expect(envNames("worker")).not.toContain("COMMAND_SIGNING_KEY_FILE");
  });

  test("every Secret key a container reads is in secret.example.yaml", () => {
    const keys = new Set(secretExample.flatMap((s) => Object.keys(s.stringData as object).map((k) => `${s.metadata.name}/${k}`)));
    for (const name of BUILT_SERVICES) {
      const spec = deployment(name).spec.template.spec;
      for (const e of container(name).env.filter((x: { valueFrom?: { secretKeyRef?: unknown } }) => x.valueFrom?.secretKeyRef)) {
        expect(keys).toContain(`${e.valueFrom.secretKeyRef.name}/${e.valueFrom.secretKeyRef.key}`);
      }
      for (const v of (spec.volumes ?? []).filter((x: { secret?: unknown }) => x.secret)) {
        for (const item of v.secret.items) expect(keys).toContain(`${v.secret.secretName}/${item.key}`);
      }
    }
    for (const s of secretExample) expect(s.metadata.namespace).toBe(kustomization.namespace);
  });

  test("hub: preStop waits, then the grace period covers the wait plus the hub's shutdown bound; rolling one at a time; PDB and HPA on it", () => {
    const hub = deployment("hub");
    const pod = hub.spec.template.spec;
    const [sleep, seconds] = container("hub").lifecycle.preStop.exec.command as [string, string];
    expect(sleep).toBe("sleep");
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(Number(seconds) * 1000 + SHUTDOWN_TIMEOUT_MS);
    expect(hub.spec.strategy.rollingUpdate).toEqual({ maxSurge: 1, maxUnavailable: 0 });
    expect(hub.spec.replicas).toBeUndefined();
    const labels = hub.spec.template.metadata.labels;
    expect(find("PodDisruptionBudget", "tether-hub").spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: labels } });
    const hpa = find("HorizontalPodAutoscaler", "tether-hub").spec;
    expect(hpa.scaleTargetRef).toEqual({ apiVersion: "apps/v1", kind: "Deployment", name: "tether-hub" });
    expect(hpa.minReplicas).toBeGreaterThanOrEqual(2);
  });

  test("Services select their Deployment's pods; the Ingress sends /ws to the hubs, the rest to the api, with long WebSocket timeouts", () => {
    for (const name of ["api", "hub"]) {
      const service = find("Service", `tether-${name}`);
      expect(service.spec.selector).toEqual(deployment(name).spec.template.metadata.labels);
      expect(service.spec.ports[0].targetPort).toBe("http");
    }
    const ingress = find("Ingress", "tether");
    const paths = ingress.spec.rules[0].http.paths as { path: string; pathType: string; backend: { service: { name: string } } }[];
    expect(paths.map((p) => [p.path, p.pathType, p.backend.service.name])).toEqual([
      ["/ws", "Exact", "tether-hub"],
      ["/", "Prefix", "tether-api"],
    ]);
    const pingDefault = (ConfigSchema.parse({}) as { PING_INTERVAL_MS: number }).PING_INTERVAL_MS;
    for (const key of ["proxy-read-timeout", "proxy-send-timeout"]) {
      expect(Number(ingress.metadata.annotations![`nginx.ingress.kubernetes.io/${key}`]) * 1000).toBeGreaterThan(2 * pingDefault);
    }
    // The dashboard's origin is the Ingress's host.
    expect(find("ConfigMap", "tether-config").data.ALLOWED_ORIGINS).toBe(`https://${ingress.spec.rules[0].host}`);
  });
});
