/**
 * The terminal view of a download for `lmx pull`: one cli-progress bar with bytes, speed and ETA,
 * drawn from the same job snapshots the admin API streams. It reads only the job's numbers, so it
 * renders an in-process job and one followed over SSE alike.
 */
import cliProgress from "cli-progress";
import type { DownloadJob, DownloadManager } from "./download-manager.js";
import { jobErrorToLmxError } from "./download-manager.js";
import { cancelled, formatBytes } from "./errors.js";
import type { DownloadRequest } from "./request.js";

export type ProgressSnapshot = Pick<DownloadJob, "repo_id" | "bytes_done" | "bytes_total" | "speed_bps" | "eta_seconds">;

export interface ProgressBarOptions {
  /** Default process.stderr, so stdout stays clean for scripts. */
  stream?: NodeJS.WritableStream;
  /** Draw even when the stream is not a TTY (one line per redraw). Default false: nothing is drawn. */
  noTTYOutput?: boolean;
}

export interface DownloadProgressBar {
  update(snapshot: ProgressSnapshot): void;
  stop(): void;
}

export function createDownloadProgressBar(options: ProgressBarOptions = {}): DownloadProgressBar {
  const bar = new cliProgress.SingleBar(
    {
      format: "{name} |{bar}| {percentage}% | {done} / {size} | {speed} | ETA {eta_text}",
      stream: options.stream ?? process.stderr,
      noTTYOutput: options.noTTYOutput ?? false,
      notTTYSchedule: 1000,
      hideCursor: true,
      barsize: 30,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let total = 0;

  return {
    update(s) {
      // Nothing to draw until the repo has been listed and the size is known.
      if (s.bytes_total <= 0) return;
      const payload = {
        name: s.repo_id,
        done: formatBytes(s.bytes_done),
        size: formatBytes(s.bytes_total),
        speed: `${formatBytes(s.speed_bps)}/s`,
        eta_text: formatEta(s.eta_seconds),
      };
      if (!started) {
        bar.start(s.bytes_total, s.bytes_done, payload);
        started = true;
        total = s.bytes_total;
        return;
      }
      if (s.bytes_total !== total) {
        bar.setTotal(s.bytes_total);
        total = s.bytes_total;
      }
      bar.update(s.bytes_done, payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

export function formatEta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return "--";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

export interface PullWithProgressOptions extends ProgressBarOptions {
  /** Ctrl-C: cancels the job (its `.part` files are kept, so pulling again resumes). */
  signal?: AbortSignal;
}

/**
 * `lmx pull` in-process: starts the download on `manager`, draws it, and resolves with the completed
 * job; throws the job's LmxError if it failed, or `cancelled` if it was cancelled.
 */
export async function pullWithProgressBar(
  manager: DownloadManager,
  request: DownloadRequest,
  options: PullWithProgressOptions = {},
): Promise<DownloadJob> {
  const started = manager.start(request);
  const bar = createDownloadProgressBar(options);
  let lastSpeed = 0;
  const unsubscribe = manager.on("download_progress", (job) => {
    if (job.id !== started.id) return;
    lastSpeed = job.speed_bps || lastSpeed;
    bar.update(job);
  });
  const onAbort = () => void manager.cancel(started.id);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  try {
    const job = (await manager.wait(started.id)) ?? started;
    // A finished job reports no speed; the last one measured reads better on the final line.
    if (job.status === "completed") bar.update({ ...job, speed_bps: lastSpeed });
    return finalOutcome(job);
  } finally {
    bar.stop();
    unsubscribe();
    options.signal?.removeEventListener("abort", onAbort);
  }
}

function finalOutcome(job: DownloadJob): DownloadJob {
  if (job.status === "completed") return job;
  if (job.status === "cancelled") throw cancelled();
  if (job.error) throw jobErrorToLmxError(job.error);
  throw cancelled(`The download ended as '${job.status}'.`);
}
