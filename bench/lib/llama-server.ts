import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { freePort } from "./server-process.js";

export interface LlamaServerOptions {
  /** The `llama-server` binary (scripts/build-llama-server.sh builds one). */
  binary: string;
  modelPath: string;
  threads: number;
  /** Slots (`-np`): requests decoded together in one batch. */
  parallel: number;
  /** Context per slot; llama-server's `-c` is the total, split across slots. */
  contextSize: number;
  /** node-llama-cpp's default is "auto", as is llama-server's. */
  flashAttention: "on" | "off" | "auto";
}

export interface LlamaServer {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts llama.cpp's own HTTP server on a free port and waits until its model is loaded. */
export async function startLlamaServer(o: LlamaServerOptions): Promise<LlamaServer> {
  if (!existsSync(o.binary)) throw new Error(`llama-server not found at ${o.binary} (build one with scripts/build-llama-server.sh)`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = [
    "-m", o.modelPath,
    "--host", "127.0.0.1", "--port", String(port),
    "-t", String(o.threads), "-tb", String(o.threads),
    "-np", String(o.parallel), "-c", String(o.contextSize * o.parallel),
    "-fa", o.flashAttention,
    // Same work per request as LMX: no prompt cache in RAM beyond the slots, no idle-slot saving.
    "--cache-ram", "0",
    "--log-disable",
  ];
  let stderr = "";
  const child = spawn(o.binary, args, { stdio: ["ignore", "ignore", "pipe"] });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  for (;;) {
    if (child.exitCode !== null) throw new Error(`llama-server exited with ${child.exitCode}: ${stderr}`);
    try {
      // 503 while the model loads, 200 once it can serve.
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
