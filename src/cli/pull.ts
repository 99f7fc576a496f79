import type { Command } from "commander";
import { basename } from "node:path";
import { LmxError } from "../errors.js";
import type { DownloadRequest } from "../models/hub/index.js";
import { modelStem } from "../models/registry.js";
import { action } from "./action.js";
import type { DownloadJob } from "./client/admin-types.js";
import type { LmxClient } from "./client/lmx-client.js";
import { readSseEvents } from "./client/sse.js";
import { cliConfig, findServer, withConnectionOptions, type ConnectionFlags } from "./connection.js";
import { CliError, interrupted } from "./errors.js";
import { formatBytes, toJson } from "./format.js";
import { onInterrupt } from "./interrupt.js";

interface PullFlags extends ConnectionFlags {
  revision?: string;
  json?: boolean;
}

const FINISHED = new Set(["completed", "failed", "cancelled"]);
const DOWNLOAD_EVENTS = "download_progress,download_completed,download_failed,download_cancelled";

/**
 * `lmx pull ORG/REPO[:QUANT_OR_FILE]`: a GGUF model from Hugging Face into the models directory.
 * With a server, the server downloads (so `lmx ps`/the admin API see the job) and this follows its
 * events; without one, this process downloads. Ctrl-C cancels and keeps the partial file for a resume.
 */
export function registerPull(program: Command): void {
  const command = program
    .command("pull")
    .description("Download a GGUF model from Hugging Face (HF_TOKEN, HF_ENDPOINT are honoured)")
    .argument("<spec>", "ORG/REPO, ORG/REPO:QUANT (e.g. :Q4_K_M) or ORG/REPO:path/to/file.gguf")
    .option("--revision <rev>", "branch, tag or commit (default main)")
    .option("--json", "print the finished download job as JSON");
  withConnectionOptions(command).action(
    action(async (spec: string, flags: PullFlags) => {
      const config = cliConfig(flags);
      const { parsePullSpec } = await import("../models/hub/index.js");
      let request: DownloadRequest;
      try {
        request = parsePullSpec(spec, flags.revision);
      } catch (err) {
        throw new CliError(`invalid model '${spec}': expected ORG/REPO[:QUANT_OR_FILE] (${(err as Error).message})`);
      }
      const server = await findServer(config);
      const interrupt = onInterrupt();
      try {
        const job = server ? await pullThroughServer(server, request, interrupt.signal) : await pullHere(config.models_dir, request, interrupt.signal);
        if (flags.json) console.log(toJson(job));
        else for (const model of job.models) console.log(`Pulled ${pulledModelId(job.repo_id, model.main)} (${formatBytes(model.size)})`);
      } finally {
        interrupt.dispose();
      }
    }),
  );
}

/** The id the registry gives a downloaded file: `org/repo/<dirs>/<stem>`. */
export function pulledModelId(repoId: string, main: string): string {
  const parts = main.split("/");
  return [repoId, ...parts.slice(0, -1), modelStem(basename(main))].join("/");
}

async function pullHere(modelsDir: string, request: DownloadRequest, signal: AbortSignal): Promise<DownloadJob> {
  const { createDownloadManager, pullWithProgressBar } = await import("../models/hub/index.js");
  const manager = createDownloadManager({ modelsDir });
  try {
    return await pullWithProgressBar(manager, request, { signal });
  } catch (err) {
    if (err instanceof LmxError && err.code === "cancelled") throw interrupted("Cancelled; the partial download is kept: pull again to resume.");
    throw err;
  } finally {
    await manager.close();
  }
}

/**
 * Starts the download on the server and draws its progress from the admin event stream (opened
 * before the job starts, so no event is missed); polls the job if the stream is unavailable.
 */
async function pullThroughServer(server: LmxClient, request: DownloadRequest, signal: AbortSignal): Promise<DownloadJob> {
  const { createDownloadProgressBar } = await import("../models/hub/index.js");
  const bar = createDownloadProgressBar();
  const stream = new AbortController();
  const stopStream = () => stream.abort();
  signal.addEventListener("abort", stopStream, { once: true });
  let job: DownloadJob | undefined;
  try {
    const events = await server.open("GET", `/admin/events?types=${DOWNLOAD_EVENTS}&heartbeat_ms=60000`, { signal: stream.signal }).catch(() => null);
    job = await server.json<DownloadJob>("POST", "/admin/models/download", { body: request, signal });
    bar.update(job);
    let final: DownloadJob | undefined;
    let lastSpeed = 0;
    const show = (update: DownloadJob) => {
      // A finished job reports no speed; the last one measured reads better on the final line.
      lastSpeed = update.speed_bps || lastSpeed;
      bar.update({ ...update, speed_bps: lastSpeed });
    };
    if (events?.body) {
      try {
        for await (const event of readSseEvents(events.body, stream.signal)) {
          const update = JSON.parse(event.data) as DownloadJob;
          if (update.id !== job.id) continue;
          show(update);
          if (FINISHED.has(update.status)) {
            final = update;
            break;
          }
        }
      } catch {
        // The stream broke (or Ctrl-C): polling below takes over, or the abort is handled below.
      }
    }
    while (!final && !signal.aborted) {
      const update = await server.json<DownloadJob>("GET", `/admin/models/downloads/${job.id}`, { signal });
      show(update);
      if (FINISHED.has(update.status)) final = update;
      else await sleep(500, signal);
    }
    if (signal.aborted || !final) throw new DOMException("interrupted", "AbortError");
    if (final.status === "completed") return final;
    if (final.status === "cancelled") throw new CliError("The download was cancelled on the server.");
    throw new CliError(final.error?.message ?? "The download failed.");
  } catch (err) {
    if (!signal.aborted) throw err;
    if (job) await server.json("DELETE", `/admin/models/downloads/${job.id}`).catch(() => undefined);
    throw interrupted("Cancelled; the partial download is kept: pull again to resume.");
  } finally {
    signal.removeEventListener("abort", stopStream);
    stream.abort();
    bar.stop();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
