/**
 * The model commands with no server running: they work on the models directory itself (`ls`, `show`,
 * `rm`, `pull`), start LMX in-process (`run`), or say that a server is needed (`ps`, `load`).
 */
import type { ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultFakeRepos, startFakeHub, type FakeHub } from "../support/fake-hub.js";
import { testModelPath } from "../support/models.js";
import { freePort, runLmx, waitFor } from "./run-lmx.js";

let hub: FakeHub;
let modelsDir: string;
let port: string;

beforeAll(async () => {
  hub = await startFakeHub({ repos: await defaultFakeRepos() });
  modelsDir = mkdtempSync(join(tmpdir(), "lmx-cli-offline-"));
  copyFileSync(testModelPath("stories260K"), join(modelsDir, "stories260K.gguf"));
  copyFileSync(testModelPath("stories260K"), join(modelsDir, "doomed.gguf"));
  writeFileSync(join(modelsDir, "broken.gguf"), "not a gguf file");
  port = String(await freePort()); // nothing listens there: "no server running"
});

afterAll(async () => {
  await hub?.close();
  if (modelsDir) rmSync(modelsDir, { recursive: true, force: true });
});

const lmx = (args: string[], env: Record<string, string> = {}) => runLmx([...args, "--port", port], { env });
const offline = (...args: string[]) => lmx([...args, "--models-dir", modelsDir]);

describe("lmx model commands without a server", () => {
  it("ls reads the models directory, listing an unreadable file as such", async () => {
    const table = await offline("ls");
    expect(table.stderr).toBe("");
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split("\n");
    expect(lines.map((line) => line.split(/\s+/)[0])).toEqual(["ID", "broken", "doomed", "stories260K"]);
    expect(lines[1]).toMatch(/^broken\s+15 B\s+unreadable\s+-\s+-$/);
    expect(lines[3]).toMatch(/^stories260K\s+1\.1 MiB\s+\S+\s+llama\s+2048$/);
    const models = JSON.parse((await offline("ls", "--json")).stdout) as Array<{ id: string; loaded: boolean; error?: string }>;
    expect(models.find((m) => m.id === "broken")?.error).toMatch(/unreadable GGUF/);
    expect(models.every((m) => !m.loaded)).toBe(true);
  });

  it("show reads the file's header; a .gguf path works too", async () => {
    const shown = await offline("show", "stories260K");
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/architecture\s+llama/);
    expect(shown.stdout).toMatch(/status\s+not loaded/);
    const byPath = JSON.parse((await offline("show", testModelPath("tiny-chat-phi3-random"), "--json")).stdout);
    expect(byPath).toMatchObject({ id: "tiny-chat-phi3-random", has_chat_template: true });
    expect(byPath.metadata.tokenizer.chat_template).toMatch(/messages/);
    const template = await offline("show", testModelPath("tiny-chat-phi3-random"), "--template");
    expect(template.stdout).toBe(`${byPath.metadata.tokenizer.chat_template}\n`);

    const missing = await offline("show", "nope");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`lmx: model 'nope' not found in ${modelsDir} (see \`lmx ls\`)\n`);
  });

  it("rm deletes inside the models directory only, without asking when stdin is not a terminal", async () => {
    const outside = join(mkdtempSync(join(tmpdir(), "lmx-cli-outside-")), "elsewhere.gguf");
    copyFileSync(testModelPath("stories260K"), outside);
    const refused = await offline("rm", outside);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/is not in the models directory .*; LMX only deletes files it manages/);
    expect(existsSync(outside)).toBe(true);

    const deleted = await offline("rm", "doomed");
    expect(deleted.code).toBe(0);
    expect(deleted.stdout.trim()).toBe("Deleted doomed");
    expect(readdirSync(modelsDir).sort()).toEqual(["broken.gguf", "stories260K.gguf"]);

    const missing = await offline("rm", "doomed");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^lmx: model 'doomed' not found/);
  });

  it("pull downloads here, honouring HF_ENDPOINT", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lmx-cli-pull-"));
    const pulled = await lmx(["pull", "lmx-test/tiny-GGUF:Q4_K_M", "--models-dir", dir], { HF_ENDPOINT: hub.url });
    expect(pulled.stderr).toBe("");
    expect(pulled.code).toBe(0);
    expect(pulled.stdout.trim()).toBe("Pulled lmx-test/tiny-GGUF/tiny-Q4_K_M (1.1 MiB)");
    expect(existsSync(join(dir, "lmx-test", "tiny-GGUF", "tiny-Q4_K_M.gguf"))).toBe(true);

    const listed = JSON.parse((await lmx(["ls", "--json", "--models-dir", dir])).stdout) as Array<{ id: string }>;
    expect(listed.map((m) => m.id)).toEqual(["lmx-test/tiny-GGUF/tiny-Q4_K_M"]);

    const gated = await lmx(["pull", "lmx-test/gated-GGUF", "--models-dir", dir], { HF_ENDPOINT: hub.url });
    expect(gated.code).toBe(1);
    expect(gated.stderr).toBe("lmx: 'lmx-test/gated-GGUF' is a gated repository: set HF_TOKEN to a token that has been granted access.\n");

    const bad = await lmx(["pull", "not-a-repo", "--models-dir", dir], { HF_ENDPOINT: hub.url });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^lmx: invalid model 'not-a-repo': expected ORG\/REPO\[:QUANT_OR_FILE\]/);
  });

  it("pull: Ctrl-C cancels and keeps the partial file for a resume", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lmx-cli-pull-cancel-"));
    const part = join(dir, "lmx-test", "tiny-GGUF", "tiny-Q8_0.gguf.part");
    hub.setFault("tiny-Q8_0.gguf", { bytesPerSecond: 100_000 });
    try {
      let child: ChildProcess | undefined;
      const pulling = runLmx(["pull", "lmx-test/tiny-GGUF:Q8_0", "--models-dir", dir, "--port", port], {
        env: { HF_ENDPOINT: hub.url },
        onSpawn: (c) => (child = c),
      });
      await waitFor(() => (existsSync(part) && statSync(part).size > 0 ? true : undefined));
      child!.kill("SIGINT");
      const result = await pulling;
      expect(result.code).toBe(130);
      expect(result.stderr).toBe("lmx: Cancelled; the partial download is kept: pull again to resume.\n");
      expect(existsSync(part)).toBe(true);
      expect(existsSync(join(dir, "lmx-test", "tiny-GGUF", "tiny-Q8_0.gguf"))).toBe(false);
    } finally {
      hub.setFault("tiny-Q8_0.gguf", null);
    }
  });

  it("run starts LMX in-process when no server is running", async () => {
    const answer = await offline("run", "stories260K", "Once upon a time", "--max-tokens", "16");
    expect(answer.stderr).toBe("");
    expect(answer.code).toBe(0);
    expect(answer.stdout.trim().length).toBeGreaterThan(0);
  });

  it("ps, load and unload need a server and say how to start one", async () => {
    const cases = [["ps"], ["load", "stories260K"], ["unload", "--all"]];
    const results = await Promise.all(cases.map((args) => lmx(args)));
    for (const [index, result] of results.entries()) {
      expect(result.code, cases[index].join(" ")).toBe(1);
      expect(result.stderr, cases[index].join(" ")).toBe(
        `lmx: no LMX server is running at http://127.0.0.1:${port}; \`lmx ${cases[index][0]}\` needs one: start it with \`lmx serve\` (or \`lmx service install\`)\n`,
      );
    }
  });

  it("refuses bad flags and bad config with one line", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["load", "m", "--parallel", "0"], /^error: option '--parallel <n>' argument '0' is invalid\. expected an integer from 1 to 256\.\n/],
      [["load", "m", "--keep-alive", "soon"], /^error: option '--keep-alive <duration>' argument 'soon' is invalid/],
      [["run", "m", "hi", "--temperature", "9"], /^error: option '--temperature <t>' argument '9' is invalid\. expected a number from 0 to 2\.\n/],
      [["ls", "--bogus"], /^error: unknown option '--bogus'\n/],
      [["unload"], /^lmx: name a model to unload, or use --all\n$/],
    ];
    const results = await Promise.all(cases.map(([args]) => lmx(args)));
    for (const [index, result] of results.entries()) {
      const [args, expected] = cases[index];
      expect(result.code, args.join(" ")).toBe(1);
      expect(result.stderr, args.join(" ")).toMatch(expected);
      expect(result.stderr).not.toMatch(/\n\s+at /); // never a stack trace
    }
    const config = join(mkdtempSync(join(tmpdir(), "lmx-cli-config-")), "config.yaml");
    writeFileSync(config, "port: many\n");
    const badConfig = await runLmx(["ls", "--config", config]);
    expect(badConfig.code).toBe(78);
    expect(badConfig.stderr).toMatch(/^lmx: Invalid configuration .*\n {2}- port: /);
  });
});
