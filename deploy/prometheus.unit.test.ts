/**
 * deploy/prometheus/tether-alerts.yml: valid YAML in Prometheus's rule-file shape, and every
 * metric it names is one the services export (with the bucket its threshold sits on).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";
import { z } from "zod";
import { createMetrics } from "../packages/core/src/metrics";

const RuleSchema = z.strictObject({
  alert: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/),
  expr: z.string().min(1),
  for: z.string().regex(/^\d+[smhd]$/),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
const RuleFileSchema = z.strictObject({
  groups: z.array(z.strictObject({ name: z.string().min(1), rules: z.array(RuleSchema).min(1) })).min(1),
});

const file = RuleFileSchema.parse(parse(readFileSync(path.join(__dirname, "prometheus/tether-alerts.yml"), "utf8")));
const rules = file.groups.flatMap((g) => g.rules);

test("the latency alert: p99 of the hubs' relay lag over 250 ms for 5 minutes", () => {
  const rule = rules.find((r) => r.alert === "TetherEventLatencyHigh");
  expect(rule).toBeDefined();
  expect(rule!.for).toBe("5m");
  expect(rule!.expr.replace(/\s+/g, " ").trim()).toBe(
    "histogram_quantile(0.99, sum by (node, le) (rate(tether_relay_lag_seconds_bucket[5m]))) > 0.25",
  );
});

test("every metric the rules name is exported, and a threshold on a histogram is one of its buckets", async () => {
  const { registry } = createMetrics("hub", "test-node");
  const exported = new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
  for (const rule of rules) {
    const names = [...rule.expr.matchAll(/\b(tether_[a-z_]+?)(?:_bucket|_sum|_count)?\b(?=[[{(\s)]|$)/g)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThan(0);
    for (const name of names)
      expect({ rule: rule.alert, name, exported: exported.has(name) }).toEqual({ rule: rule.alert, name, exported: true });
  }
  const lag = (await registry.getMetricsAsJSON()).find((m) => m.name === "tether_relay_lag_seconds");
  expect(lag?.type).toBe("histogram");
  const buckets = (await registry.getSingleMetric("tether_relay_lag_seconds")!.get()).values
    .map((v) => v.labels.le)
    .filter((le) => le !== undefined);
  expect(buckets).toContain(0.25);
});

test("annotations template only labels the expression keeps", () => {
  for (const rule of rules) {
    const kept =
      /by \(([^)]*)\)/
        .exec(rule.expr)?.[1]
        ?.split(",")
        .map((s) => s.trim()) ?? [];
    for (const text of Object.values(rule.annotations ?? {}))
      for (const [, label] of text.matchAll(/\$labels\.(\w+)/g)) expect(kept).toContain(label);
  }
});
