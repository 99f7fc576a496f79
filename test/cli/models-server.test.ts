/**
 * The model commands against a running server: a real LMX (test/support/server.ts) on a free port,
 * the real CLI process pointed at it with --port, and the fake Hugging Face Hub for `pull`.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultFakeRepos, startFakeHub, type FakeHub } from "../support/fake-hub.js";
import { json, startTestServer, type TestServer } from "../support/server.js";
import { cleanEnv, portOf, runLmx, waitFor } from "./run-lmx.js";

const hasScript = () => spawnSync("script", ["--version"]).status === 0;

let server: TestServer;
let hub: FakeHub;
let port: string;
const savedEndpoint = process.env.HF_ENDPOINT;

beforeAll(async () => {
  hub = await startFakeHub({ repos: await defaultFakeRepos() });
  // The server's download manager reads HF_ENDPOINT when it is first used, in this process.
  process.env.HF_ENDPOINT = hub.url;
  server = await startTestServer({ models: ["stories260K", "llama-2-tiny-random"], load: ["stories260K"] });
  port = portOf(server.url);
});

afterAll(async () => {
  await server?.stop();
  await hub?.close();
  if (savedEndpoint === undefined) delete process.env.HF_ENDPOINT;
  else process.env.HF_ENDPOINT = savedEndpoint;
});

const lmx = (...args: string[]) => runLmx([...args, "--port", port]);

describe("lmx model commands with a server", () => {
  it("ls lists the models on disk with what is loaded", async () => {
    const table = await lmx("ls");
    expect(table.code).toBe(0);
    const lines = table.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^ID\s+SIZE\s+QUANT\s+ARCH\s+CONTEXT\s+LOADED$/);
    expect(lines.find((l) => l.startsWith("stories260K "))).toMatch(/^stories260K\s+1\.1 MiB\s+\S+\s+llama\s+2048\s+yes$/);
    expect(lines.find((l) => l.startsWith("llama-2-tiny-random "))).toMatch(/llama\s+4096$/);

    const list = await lmx("ls", "--json");
    expect(list.code).toBe(0);
    const models = JSON.parse(list.stdout) as Array<{ id: string; loaded: boolean; architecture: string }>;
    expect(models.map((m) => [m.id, m.loaded])).toEqual([
      ["llama-2-tiny-random", false],
      ["stories260K", true],
    ]);
  });

  it("ps lists the loaded models", async () => {
    const table = await lmx("ps");
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^ID\s+STATE\s+MEMORY\s+PARALLEL\s+CONTEXT\s+IN FLIGHT\s+QUEUED\s+UNTIL/);
    // Loaded at start: pinned, so never expires.
    expect(table.stdout).toMatch(/stories260K\s+ready\s+[\d.]+ \w*B\s+2\s+1024\s+0\s+0\s+forever/);
    const list = JSON.parse((await lmx("ps", "--json")).stdout) as Array<{ id: string }>;
    expect(list.map((m) => m.id)).toEqual(["stories260K"]);
  });

  it("show prints the GGUF metadata, and all of it with --json", async () => {
    const shown = await lmx("show", "stories260K");
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/architecture\s+llama/);
    expect(shown.stdout).toMatch(/parameters\s+292\.8K/);
    expect(shown.stdout).toMatch(/context length\s+2048/);
    expect(shown.stdout).toMatch(/chat template\s+no/);
    expect(shown.stdout).toMatch(/vocabulary\s+512 tokens/);
    expect(shown.stdout).toMatch(/attention\.head_count\s+8/);
    expect(shown.stdout).toMatch(/status\s+loaded \(ready/);
    const all = JSON.parse((await lmx("show", "stories260K", "--json")).stdout);
    expect(all.metadata.general.architecture).toBe("llama");
    expect(all.metadata.llama.block_count).toBe(5);
  });

  it("load and unload a model with settings", async () => {
    const loaded = await lmx("load", "llama-2-tiny-random", "--parallel", "1", "--context-size", "256", "--threads", "1", "--keep-alive", "10m");
    expect(loaded.stderr).toBe("");
    expect(loaded.code).toBe(0);
    expect(loaded.stdout).toMatch(/^Loaded llama-2-tiny-random in [\d.]+m?s: 1 × 256 tokens, 1 thread/);
    const status = await json(await server.get("/admin/status"));
    const model = status.models.find((m: { id: string }) => m.id === "llama-2-tiny-random");
    expect(model).toMatchObject({ parallel: 1, context_size: 256, keep_alive_ms: 600_000 });
    expect((await lmx("ps")).stdout).toMatch(/llama-2-tiny-random\s+ready.*in 10 minutes/);

    const unloaded = await lmx("unload", "llama-2-tiny-random");
    expect(unloaded.code).toBe(0);
    expect(unloaded.stdout.trim()).toBe("Unloaded llama-2-tiny-random");
    expect(server.lmx.services.models.get("llama-2-tiny-random")).toBeUndefined();
    const again = await lmx("unload", "llama-2-tiny-random");
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^lmx: The model 'llama-2-tiny-random' is not loaded\.\n$/);
  });

  it("bench measures decode speed and time to first token per run, and prints JSON with --json", async () => {
    const table = await lmx("bench", "stories260K", "--max-tokens", "32", "--runs", "2");
    expect(table.stderr).toBe("");
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^stories260K · 1 thread\(s\) · prompt \d+ tokens · up to 32 tokens per run/);
    expect(table.stdout).toMatch(/RUN\s+PROMPT\s+TOKENS\s+TTFT\s+DECODE\s+TOTAL/);
    expect(table.stdout).toMatch(/\n1\s+\d+\s+\d+\s+[\d.]+ ms\s+[\d.]+ tok\/s/);
    expect(table.stdout).toMatch(/decode p50 [\d.]+ tok\/s, p95 [\d.]+ tok\/s · time to first token p50 [\d.]+ ms/);

    const result = JSON.parse((await lmx("bench", "stories260K", "--max-tokens", "16", "--runs", "3", "--json")).stdout);
    expect(result.runs).toHaveLength(3);
    expect(result.decode_tokens_per_second.p50).toBeGreaterThan(0);
    expect(result.runs.every((r: { completion_tokens: number }) => r.completion_tokens > 1 && r.completion_tokens <= 16)).toBe(true);

    const bad = await lmx("bench", "stories260K", "--runs", "0");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--runs must be a positive integer/);
    const unknown = await lmx("bench", "no-such-model");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no-such-model/);
  });

  it("run answers a prompt, streaming, and exits", async () => {
    const answer = await lmx("run", "stories260K", "Once upon a time", "--max-tokens", "24", "--seed", "1");
    expect(answer.stderr).toBe("");
    expect(answer.code).toBe(0);
    expect(answer.stdout.trim().length).toBeGreaterThan(0);
    expect(answer.stdout.endsWith("\n")).toBe(true);
    // The prompt can come on stdin too.
    const piped = await runLmx(["run", "stories260K", "--max-tokens", "8", "--port", port, "--verbose"], { stdin: "Once upon a time" });
    expect(piped.code).toBe(0);
    expect(piped.stdout.trim().length).toBeGreaterThan(0);
    expect(piped.stderr).toMatch(/answer tokens:\s+8/);
  });

  // A terminal through util-linux `script` (a pty): readline's raw mode, prompts and Ctrl-C as a key.
  it.skipIf(!hasScript())("run chats on a terminal: Ctrl-C stops an answer, /bye quits", async () => {
    const command = [process.execPath, "--import", "tsx", "src/cli/main.ts", "run", "stories260K", "--max-tokens", "2000", "--verbose", "--port", port].join(" ");
    const child = spawn("script", ["-qfec", command, "/dev/null"], {
      cwd: fileURLToPath(new URL("../..", import.meta.url)),
      env: { ...cleanEnv(), HOME: mkdtempSync(join(tmpdir(), "lmx-home-")) },
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    const prompts = () => output.split(">>> ").length - 1;
    try {
      await waitFor(() => (prompts() >= 1 ? true : undefined));
      child.stdin.write("Once upon a time\r");
      const echoed = output.length + "Once upon a time".length + 2;
      await waitFor(() => (output.length > echoed + 20 ? true : undefined));
      child.stdin.write("\x03"); // Ctrl-C: stop the answer, not the chat
      await waitFor(() => (prompts() >= 2 ? true : undefined));
      child.stdin.write("/bye\r");
      expect(await exited).toBe(0);
      expect(output).toMatch(/finish reason:\s+interrupted/);
      // A full answer (the context's ~1000 tokens) would be several thousand characters.
      expect(output.length).toBeLessThan(2000);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("rm refuses a loaded model, deletes one that is not, and --force unloads first", async () => {
    const refused = await lmx("rm", "stories260K");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("'stories260K' is loaded; unload it first (`lmx unload stories260K`) or use --force");
    expect(existsSync(join(server.modelsDir, "stories260K.gguf"))).toBe(true);

    const deleted = await lmx("rm", "llama-2-tiny-random");
    expect(deleted.code).toBe(0);
    expect(deleted.stdout.trim()).toBe("Deleted llama-2-tiny-random");
    expect(existsSync(join(server.modelsDir, "llama-2-tiny-random.gguf"))).toBe(false);

    const forced = await lmx("rm", "stories260K", "--force");
    expect(forced.code).toBe(0);
    expect(server.lmx.services.models.get("stories260K")).toBeUndefined();
    expect(existsSync(join(server.modelsDir, "stories260K.gguf"))).toBe(false);
    expect((await lmx("ls", "--json")).stdout.trim()).toBe("[]");
  });

  it("pull downloads through the server from the Hub, with the job visible to the admin API", async () => {
    const pulled = await lmx("pull", "ggml-org/models:tinyllamas/stories260K.gguf");
    expect(pulled.stderr).toBe("");
    expect(pulled.code).toBe(0);
    expect(pulled.stdout.trim()).toBe("Pulled ggml-org/models/tinyllamas/stories260K (1.1 MiB)");
    expect(existsSync(join(server.modelsDir, "ggml-org", "models", "tinyllamas", "stories260K.gguf"))).toBe(true);
    const jobs = await json(await server.get("/admin/models/downloads"));
    expect(jobs.data[0]).toMatchObject({ repo_id: "ggml-org/models", status: "completed" });

    const json_ = await lmx("pull", "lmx-test/tiny-GGUF:Q4_K_M", "--json");
    expect(json_.code).toBe(0);
    expect(JSON.parse(json_.stdout)).toMatchObject({ status: "completed", models: [{ main: "tiny-Q4_K_M.gguf" }] });
    const ids = (JSON.parse((await lmx("ls", "--json")).stdout) as Array<{ id: string }>).map((m) => m.id);
    expect(ids).toEqual(["ggml-org/models/tinyllamas/stories260K", "lmx-test/tiny-GGUF/tiny-Q4_K_M"]);

    const missing = await lmx("pull", "nobody/nothing-GGUF");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^lmx: Repository 'nobody\/nothing-GGUF' was not found on the Hub/);
  });

  it("pull: Ctrl-C cancels the server's download and keeps the partial file", async () => {
    hub.setFault("tiny-Q8_0.gguf", { bytesPerSecond: 100_000 }); // ~17 s for the whole file
    try {
      let child: ChildProcess | undefined;
      const pulling = runLmx(["pull", "lmx-test/tiny-GGUF:Q8_0", "--port", port], { onSpawn: (c) => (child = c) });
      const job = await waitFor(async () => {
        const jobs = (await json(await server.get("/admin/models/downloads"))).data as Array<{ id: string; repo_id: string; status: string; bytes_done: number; request: { quant?: string } }>;
        return jobs.find((j) => j.request.quant === "Q8_0" && j.status === "running" && j.bytes_done > 0);
      });
      child!.kill("SIGINT");
      const result = await pulling;
      expect(result.code).toBe(130);
      expect(result.stderr).toBe("lmx: Cancelled; the partial download is kept: pull again to resume.\n");
      expect((await json(await server.get(`/admin/models/downloads/${job.id}`))).status).toBe("cancelled");
      expect(existsSync(join(server.modelsDir, "lmx-test", "tiny-GGUF", "tiny-Q8_0.gguf.part"))).toBe(true);
    } finally {
      hub.setFault("tiny-Q8_0.gguf", null);
    }
  });

  it("says so for an unknown model", async () => {
    const cases = [["show", "nope"], ["load", "nope"], ["rm", "nope"], ["run", "nope", "hi"]];
    const results = await Promise.all(cases.map((args) => lmx(...args)));
    for (const [index, result] of results.entries()) {
      expect(result.code, cases[index].join(" ")).toBe(1);
      expect(result.stderr, cases[index].join(" ")).toBe("lmx: The model 'nope' does not exist or is not available.\n");
    }
  });
});
