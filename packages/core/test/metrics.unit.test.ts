/**
 * The buffered histogram (metrics.ts) against prom-client's own: fed the same values, a scrape
 * of either says the same thing (buckets, sum, count, default labels), however the values fall
 * against the buffer's size and the scrapes between them.
 */
import fc from "fast-check";
import { Histogram, Registry } from "prom-client";
import { bufferedHistogram, HISTOGRAM_BUFFER } from "../src/metrics";

const BUCKETS = [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

function pair() {
  const plainRegistry = new Registry();
  const bufferedRegistry = new Registry();
  for (const r of [plainRegistry, bufferedRegistry]) r.setDefaultLabels({ service: "hub", node: "hub-1" });
  const config = { name: "tether_test_seconds", help: "test", buckets: BUCKETS };
  const plain = new Histogram({ ...config, registers: [plainRegistry] });
  const buffered = bufferedHistogram({ ...config, registers: [bufferedRegistry] });
  return { plain, buffered, plainRegistry, bufferedRegistry };
}

test("a scrape shows every observation made before it, as prom-client's histogram does", async () => {
  // Runs of values with a scrape after each run; long runs cross the buffer's size.
  const value = fc.oneof(fc.double({ min: 0, max: 5, noNaN: true }), fc.constantFrom(...BUCKETS));
  const runs = fc.array(fc.array(value, { maxLength: HISTOGRAM_BUFFER * 2 + 3 }), { minLength: 1, maxLength: 4 });
  await fc.assert(
    fc.asyncProperty(runs, async (batches) => {
      const { plain, buffered, plainRegistry, bufferedRegistry } = pair();
      for (const batch of batches) {
        for (const v of batch) {
          plain.observe(v);
          buffered.observe(v);
        }
        expect(await bufferedRegistry.metrics()).toBe(await plainRegistry.metrics());
      }
    }),
    { numRuns: 40 },
  );
});

test("the buffer hands its values on when full, not only at a scrape", async () => {
  const { buffered } = pair();
  for (let i = 0; i < HISTOGRAM_BUFFER; i++) buffered.observe(0.003);
  // Read prom-client's own state without the collect hook (which would flush anyway).
  const counted = (buffered.histogram as unknown as { hashMap: Record<string, { count: number }> }).hashMap;
  expect(Object.values(counted)[0]?.count).toBe(HISTOGRAM_BUFFER);
  buffered.observe(0.003);
  expect(Object.values(counted)[0]?.count).toBe(HISTOGRAM_BUFFER);
  const values = (await buffered.histogram.get()).values;
  expect(values.find((v) => v.metricName === "tether_test_seconds_count")?.value).toBe(HISTOGRAM_BUFFER + 1);
});

test("a value that is not a finite number is refused at observe, and nothing is recorded", async () => {
  const { buffered } = pair();
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    expect(() => buffered.observe(bad)).toThrow(TypeError);
  }
  const values = (await buffered.histogram.get()).values;
  expect(values.find((v) => v.metricName === "tether_test_seconds_count")?.value).toBe(0);
});
