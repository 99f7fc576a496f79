import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const cli = join(root, "src/cli/main.ts");

/** Runs the real `lmx` entry point (from source, through tsx) in a child process. */
function lmx(args: string[], options: { env?: NodeJS.ProcessEnv; until?: RegExp; timeoutMs?: number } = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", cli, ...args], {
      cwd: root,
      env: { ...process.env, HOME: mkdtempSync(join(tmpdir(), "lmx-home-")), ...options.env },
    });
    let stdout = "";
    let stderr = "";
    const check = () => {
      if (options.until && options.until.test(stdout + stderr)) child.kill("SIGTERM");
    };
    child.stdout.on("data", (d) => {
      stdout += d;
      check();
    });
    child.stderr.on("data", (d) => {
      stderr += d;
      check();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe("lmx CLI", () => {
  it("prints its version and help", async () => {
    const version = await lmx(["--version"]);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const help = await lmx(["serve", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--model <file-or-id>");
    expect(help.stdout).toContain("--port");
  });

  it("refuses an invalid config at start, naming the key", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "lmx-cli-")), "config.yaml");
    writeFileSync(path, "port: -1\nqueue:\n  max_size: many\n");
    const result = await lmx(["serve", "--config", path]);
    expect(result.code).toBe(78);
    expect(result.stderr).toMatch(/port: /);
    expect(result.stderr).toMatch(/queue\.max_size: /);
    const flag = await lmx(["serve", "--port", "abc"]);
    expect(flag.code).toBe(78);
    expect(flag.stderr).toContain("--port");
  });

  it("serves on the given port, logging structured JSON, and stops on SIGTERM", async () => {
    const port = await freePort();
    const models = mkdtempSync(join(tmpdir(), "lmx-cli-models-"));
    const result = await lmx(["serve", "--port", String(port), "--models-dir", models], { until: /LMX listening/ });
    const lines = result.stdout.trim().split("\n").map((line) => JSON.parse(line));
    const listening = lines.find((line) => line.msg === "LMX listening");
    expect(listening.url).toBe(`http://127.0.0.1:${port}`);
    expect(listening.level).toBe("info");
    expect(result.code).toBe(0);
  });
});
