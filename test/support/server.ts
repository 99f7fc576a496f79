import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { PassThrough } from "node:stream";
import OpenAI from "openai";
import { parseConfig } from "../../src/config/load.js";
import type { ConfigInput, LmxConfig } from "../../src/config/schema.js";
import { createLmx, type Lmx } from "../../src/lmx.js";
import { testModelPath, type TestModelName } from "./models.js";

export interface TestServer {
  url: string;
  /** The official OpenAI client, pointed at this server. */
  openai: OpenAI;
  lmx: Lmx;
  config: LmxConfig;
  modelsDir: string;
  /** Structured log lines the server wrote. */
  logs: Array<Record<string, unknown>>;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  stop(): Promise<void>;
}

export interface TestServerOptions {
  /** Shared test models to put in the models directory (by name) — all of them are loaded unless `load` says otherwise. */
  models?: TestModelName[];
  /** Extra .gguf files (generated models) to put in the models directory. */
  files?: string[];
  /** Model ids to load at start (defaults to every model above). */
  load?: string[];
  config?: ConfigInput;
}

/**
 * Starts a real LMX server on a free port with real models (each in its own runner process), and
 * waits until the start-up models are loaded. Each server has its own models directory of symlinks.
 */
export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const modelsDir = mkdtempSync(join(tmpdir(), "lmx-test-models-"));
  const ids: string[] = [];
  for (const name of options.models ?? []) {
    symlinkSync(testModelPath(name), join(modelsDir, `${name}.gguf`));
    ids.push(name);
  }
  for (const file of options.files ?? []) {
    symlinkSync(file, join(modelsDir, basename(file)));
    ids.push(basename(file).replace(/\.gguf$/, ""));
  }

  const logStream = new PassThrough();
  const logs: Array<Record<string, unknown>> = [];
  let pending = "";
  logStream.on("data", (chunk: Buffer) => {
    pending += chunk.toString("utf8");
    let newline;
    while ((newline = pending.indexOf("\n")) !== -1) {
      const line = pending.slice(0, newline);
      pending = pending.slice(newline + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ raw: line });
      }
    }
  });

  const config = parseConfig({
    host: "127.0.0.1",
    port: 0,
    models_dir: modelsDir,
    log_level: "debug",
    presets_dir: join(modelsDir, "presets"),
    ...options.config,
    octo: { db_path: join(modelsDir, "octo.db"), ...options.config?.octo },
    model_defaults: { threads: 1, parallel: 2, context_size: 1024, ...options.config?.model_defaults },
  });
  const lmx = await createLmx(config, { models: options.load ?? ids, logDestination: logStream });
  const { url, modelsLoaded } = await lmx.start();
  await modelsLoaded;
  const missing = (options.load ?? ids).filter((id) => !lmx.services.models.get(id));
  if (missing.length > 0) {
    await lmx.stop();
    const errors = logs.filter((line) => line.level === "error" || line.level === "warn");
    throw new Error(`Test server could not load ${missing.join(", ")}:\n${errors.map((line) => JSON.stringify(line)).join("\n")}`);
  }

  const request = (method: string) => (path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${url}${path}`, {
      method,
      headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });

  return {
    url,
    openai: new OpenAI({ baseURL: `${url}/v1`, apiKey: "lmx-test", maxRetries: 0, timeout: 60_000 }),
    lmx,
    config,
    modelsDir,
    logs,
    post: (path, body, headers) => request("POST")(path, body, headers),
    get: (path, headers) => request("GET")(path, undefined, headers),
    async stop() {
      await lmx.stop();
      rmSync(modelsDir, { recursive: true, force: true });
    },
  };
}

/** Reads an SSE response into its `data:` payloads (JSON-parsed, except the [DONE] marker). */
export async function readSse(response: Response): Promise<unknown[]> {
  const text = await response.text();
  return text
    .split("\n\n")
    .map((frame) => frame.trim())
    .filter((frame) => frame.startsWith("data: "))
    .map((frame) => frame.slice(6))
    .map((data) => (data === "[DONE]" ? "[DONE]" : JSON.parse(data)));
}

/** A response body as loose JSON, for assertions. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const json = (response: Response): Promise<any> => response.json();

/** A labelled sample's value in Prometheus text (0 when there is none yet). */
export function metricValue(text: string, name: string, labels: Record<string, string>): number {
  const line = text
    .split("\n")
    .find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line ? Number(line.split(" ").pop()) : 0;
}
