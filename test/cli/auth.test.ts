/**
 * Server discovery from the config, as `lmx serve` reads it: ~/.lmx/config.yaml gives the port and
 * the keys, LMX_* variables override it; the admin key goes in X-Admin-Key, the API key as a Bearer token.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";
import { portOf, runLmx } from "./run-lmx.js";

const ADMIN_KEY = "admin-key-for-tests";
const API_KEY = "api-key-for-tests";
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ models: ["stories260K"], config: { admin_key: ADMIN_KEY, api_key: API_KEY } });
});

afterAll(async () => {
  await server?.stop();
});

/** A HOME whose ~/.lmx/config.yaml points at the test server. */
function homeWithConfig(lines: string[]): string {
  const home = mkdtempSync(join(tmpdir(), "lmx-cli-auth-"));
  mkdirSync(join(home, ".lmx"));
  writeFileSync(join(home, ".lmx", "config.yaml"), [`port: ${portOf(server.url)}`, ...lines, ""].join("\n"));
  return home;
}

describe("lmx finds the server and authenticates from the config", () => {
  it("sends the keys from ~/.lmx/config.yaml to /admin and /v1", async () => {
    const home = homeWithConfig([`admin_key: ${ADMIN_KEY}`, `api_key: ${API_KEY}`]);
    const ps = await runLmx(["ps"], { home });
    expect(ps.stderr).toBe("");
    expect(ps.code).toBe(0);
    expect(ps.stdout).toMatch(/stories260K\s+ready/);
    const run = await runLmx(["run", "stories260K", "Once upon a time", "--max-tokens", "8"], { home });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout.trim().length).toBeGreaterThan(0);
  });

  it("takes the keys from LMX_ADMIN_KEY / LMX_API_KEY, and says when the admin key is wrong", async () => {
    const home = homeWithConfig([]);
    const withEnv = await runLmx(["ls", "--json"], { home, env: { LMX_ADMIN_KEY: ADMIN_KEY } });
    expect(withEnv.code).toBe(0);
    expect(JSON.parse(withEnv.stdout)[0].id).toBe("stories260K");

    const without = await runLmx(["ls"], { home });
    expect(without.code).toBe(1);
    expect(without.stderr).toBe(`lmx: the LMX server at ${server.url} refused the admin key: set admin_key in the config or LMX_ADMIN_KEY\n`);

    const noApiKey = await runLmx(["run", "stories260K", "hi"], { home, env: { LMX_ADMIN_KEY: ADMIN_KEY } });
    expect(noApiKey.code).toBe(1);
    expect(noApiKey.stderr).toMatch(/^lmx: Incorrect API key provided/);
  });
});
