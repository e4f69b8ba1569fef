/** Issue 11.6: where the ops listener goes (OPS_PORT / OPS_HOST / METRICS_TOKEN, CONTRACT §1 v2). */
import { ConfigError, loadConfig } from "../src/config";

describe("ops listener configuration", () => {
  test("defaults: PORT + 1000 on loopback, no metrics token", () => {
    const config = loadConfig({});
    expect({ port: config.PORT, ops: config.OPS_PORT, host: config.OPS_HOST, token: config.METRICS_TOKEN }).toEqual({
      port: 8000,
      ops: 9000,
      host: "127.0.0.1",
      token: undefined,
    });
    expect(loadConfig({ PORT: "8123" }).OPS_PORT).toBe(9123);
  });

  test("PORT=0 picks a free ops port too; explicit values win", () => {
    expect(loadConfig({ PORT: "0" }).OPS_PORT).toBe(0);
    expect(loadConfig({ PORT: "8000", OPS_PORT: "0" }).OPS_PORT).toBe(0);
    expect(loadConfig({ PORT: "8000", OPS_PORT: "7000", OPS_HOST: "10.0.0.5" })).toMatchObject({ OPS_PORT: 7000, OPS_HOST: "10.0.0.5" });
  });

  test("a combination that cannot work is refused, naming OPS_PORT", () => {
    expect(() => loadConfig({ PORT: "65000" })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: "65000" })).toThrow(/OPS_PORT/);
    expect(() => loadConfig({ PORT: "8000", OPS_PORT: "8000" })).toThrow(/OPS_PORT: must differ from PORT/);
    expect(() => loadConfig({ OPS_PORT: "70000" })).toThrow(/OPS_PORT/);
  });

  test("a metrics token shorter than 16 characters is refused", () => {
    expect(() => loadConfig({ METRICS_TOKEN: "short" })).toThrow(/METRICS_TOKEN/);
    expect(loadConfig({ METRICS_TOKEN: "m".repeat(16) }).METRICS_TOKEN).toBe("m".repeat(16));
  });
});
