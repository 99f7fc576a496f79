import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config/load.js";

const dir = mkdtempSync(join(tmpdir(), "lmx-config-"));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

describe("configuration", () => {
  it("has defaults for everything", () => {
    const config = loadConfig({ env: {}, ignoreDefaultFile: true });
    expect(config.host).toBe("127.0.0.1");
    expect(config.port).toBe(1234);
    expect(config.models_dir).toMatch(/\.lmx\/models$/);
    expect(config.queue.max_size).toBe(64);
    expect(config.sampling.temperature).toBe(0.8);
    expect(config.config_file).toBeNull();
  });

  it("applies file, then LMX_* environment, then flags", () => {
    const path = file("a.yaml", "port: 2000\nhost: 0.0.0.0\nqueue:\n  max_size: 5\nmodel_defaults:\n  threads: 3\n  parallel: 2\n");
    const fromFile = loadConfig({ configPath: path, env: {} });
    expect(fromFile).toMatchObject({ port: 2000, host: "0.0.0.0", queue: { max_size: 5, retry_after_seconds: 1 }, model_defaults: { threads: 3, parallel: 2 } });
    expect(fromFile.config_file).toBe(path);

    const env = { LMX_PORT: "3000", LMX_QUEUE__MAX_SIZE: "9", LMX_AUTO_LOAD: "a,b", LMX_TEST_MODELS_DIR: "/ignored" };
    const fromEnv = loadConfig({ configPath: path, env });
    expect(fromEnv).toMatchObject({ port: 3000, host: "0.0.0.0", queue: { max_size: 9 }, auto_load: ["a", "b"], model_defaults: { threads: 3 } });

    const fromFlags = loadConfig({ configPath: path, env, flags: { port: 4000, model_defaults: { parallel: 8 } } });
    expect(fromFlags).toMatchObject({ port: 4000, queue: { max_size: 9 }, model_defaults: { threads: 3, parallel: 8 } });
  });

  it("reads LMX_CONFIG when no --config is given", () => {
    const path = file("b.yaml", "port: 2500\n");
    expect(loadConfig({ env: { LMX_CONFIG: path } }).port).toBe(2500);
  });

  it("refuses an invalid config naming the key and the problem", () => {
    const cases: Array<[string, RegExp]> = [
      ["port: 99999\n", /port: .*<=65535/],
      ["queue:\n  max_size: -2\n", /queue\.max_size: .*>=0/],
      ["log_level: loud\n", /log_level: /],
      ["bogus_key: 1\n", /bogus_key: unknown key/],
      ["model_defaults:\n  threads: zero\n", /model_defaults\.threads: .*number/],
      ["- a\n- b\n", /YAML mapping/],
      ["port: [\n", /Cannot read config file/],
    ];
    for (const [text, message] of cases) {
      const path = file(`bad-${Math.random()}.yaml`, text);
      expect(() => loadConfig({ configPath: path, env: {} })).toThrowError(ConfigError);
      expect(() => loadConfig({ configPath: path, env: {} })).toThrowError(message);
    }
    expect(() => loadConfig({ env: { LMX_PORT: "abc" }, ignoreDefaultFile: true })).toThrowError(/port: /);
    expect(() => loadConfig({ configPath: join(dir, "missing.yaml"), env: {} })).toThrowError(/not found/);
  });
});
