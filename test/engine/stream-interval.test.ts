import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/load.js";
import { resolveStreamInterval, streamIntervals } from "../../src/engine/runner/stream-interval.js";

describe("stream interval", () => {
  it("sends batches less often when the model's CPU threads take every core", () => {
    expect(resolveStreamInterval("auto", { onGpu: false, threads: 2, cores: 2 })).toBe(streamIntervals.allCoresDecoding);
    expect(resolveStreamInterval("auto", { onGpu: false, threads: 8, cores: 4 })).toBe(streamIntervals.allCoresDecoding);
  });

  it("keeps tokens flowing smoothly when a core is free or a GPU decodes", () => {
    expect(resolveStreamInterval("auto", { onGpu: false, threads: 1, cores: 2 })).toBe(streamIntervals.coresToSpare);
    expect(resolveStreamInterval("auto", { onGpu: true, threads: 8, cores: 8 })).toBe(streamIntervals.coresToSpare);
  });

  it("keeps a number as given, 0 included", () => {
    expect(resolveStreamInterval(0, { onGpu: false, threads: 2, cores: 2 })).toBe(0);
    expect(resolveStreamInterval(250, { onGpu: true, threads: 1, cores: 2 })).toBe(250);
  });

  it("is 'auto' by default; a number or 'auto' is accepted from the environment, anything else refused", () => {
    expect(loadConfig({ env: {}, ignoreDefaultFile: true }).runner.stream_interval_ms).toBe("auto");
    expect(loadConfig({ env: { LMX_RUNNER__STREAM_INTERVAL_MS: "45" }, ignoreDefaultFile: true }).runner.stream_interval_ms).toBe(45);
    expect(loadConfig({ env: { LMX_RUNNER__STREAM_INTERVAL_MS: "auto" }, ignoreDefaultFile: true }).runner.stream_interval_ms).toBe("auto");
    expect(() => loadConfig({ env: { LMX_RUNNER__STREAM_INTERVAL_MS: "fast" }, ignoreDefaultFile: true })).toThrow(ConfigError);
    expect(() => loadConfig({ env: { LMX_RUNNER__STREAM_INTERVAL_MS: "-1" }, ignoreDefaultFile: true })).toThrow(/stream_interval_ms/);
  });
});
