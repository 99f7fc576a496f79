/**
 * Downloads as jobs: the admin API starts them, lists them, cancels them and streams their events;
 * the CLI watches one. Jobs run a few at a time (a single fast download already fills most links),
 * the rest wait queued. Starting a download identical to a queued or running one returns that job.
 *
 * Events (listeners receive a snapshot of the job):
 * - download_progress: status changes and bytes, at most one per job per `progressIntervalMs`;
 * - download_completed, download_failed, download_cancelled: once, when the job ends.
 */
import { randomUUID } from "node:crypto";
import { type ErrorType, LmxError } from "../../errors.js";
import type { HubConfig } from "./config.js";
import { createHubDownloader, type HubDownloader } from "./downloader.js";
import { type DownloadRequest, parseDownloadRequest, requestKey } from "./request.js";
import { createSpeedMeter, type SpeedMeter } from "./speed-meter.js";

export type DownloadStatus = "queued" | "running" | "completed" | "failed" | "cancelled";

export interface DownloadJobError {
  status: number;
  type: ErrorType;
  code: string | null;
  message: string;
}

export interface DownloadJob {
  id: string;
  repo_id: string;
  revision: string;
  /** The commit the revision resolved to, once known. */
  commit: string | null;
  request: DownloadRequest;
  /** Repo paths of the files to download; empty until the repo has been listed. */
  files: string[];
  /** The models these files make up (a split model is one), with where each will be loaded from. */
  models: Array<{ main: string; local_path: string; size: number }>;
  status: DownloadStatus;
  /** The file being downloaded now. */
  current_file: string | null;
  bytes_done: number;
  /** 0 until the repo has been listed. */
  bytes_total: number;
  speed_bps: number;
  eta_seconds: number | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  error?: DownloadJobError;
}

export interface DownloadEventMap {
  download_progress: DownloadJob;
  download_completed: DownloadJob;
  download_failed: DownloadJob;
  download_cancelled: DownloadJob;
}
export type DownloadEventName = keyof DownloadEventMap;

export interface DownloadManagerConfig extends HubConfig {
  /** Jobs downloading at once. Default 2. */
  maxConcurrent?: number;
  /** Minimum interval between two progress events of a job. Default 250 ms (4/s). */
  progressIntervalMs?: number;
  /** Finished jobs kept for get()/list(). Default 100. */
  maxFinishedJobs?: number;
}

export interface CancelOptions {
  /** Delete the `.part` files instead of keeping them for a later resume. Default false. */
  discardPartial?: boolean;
}

export interface DownloadManager {
  /** Validates (400 LmxError) and queues the download; returns the job, or the identical job already under way. */
  start(request: DownloadRequest): DownloadJob;
  get(id: string): DownloadJob | undefined;
  /** Newest first. */
  list(): DownloadJob[];
  /** Cancels a queued or running job; resolves with its final state (unchanged if already finished). */
  cancel(id: string, options?: CancelOptions): Promise<DownloadJob | undefined>;
  /** Resolves with the job's final state. */
  wait(id: string): Promise<DownloadJob | undefined>;
  on<E extends DownloadEventName>(event: E, listener: (job: DownloadEventMap[E]) => void): () => void;
  /** Cancels everything (keeping `.part` files) and waits for the jobs to stop. */
  close(): Promise<void>;
}

interface JobState {
  job: DownloadJob;
  key: string;
  controller: AbortController;
  discardPartial: boolean;
  meter: SpeedMeter;
  lastProgressAt: number;
  progressTimer: NodeJS.Timeout | null;
  finished: Promise<DownloadJob>;
  finish(job: DownloadJob): void;
}

const ACTIVE: ReadonlySet<DownloadStatus> = new Set(["queued", "running"]);

export function createDownloadManager(config: DownloadManagerConfig, deps: { downloader?: HubDownloader } = {}): DownloadManager {
  const downloader = deps.downloader ?? createHubDownloader(config);
  const maxConcurrent = Math.max(1, config.maxConcurrent ?? 2);
  const progressIntervalMs = config.progressIntervalMs ?? 250;
  const maxFinishedJobs = config.maxFinishedJobs ?? 100;

  const jobs = new Map<string, JobState>(); // insertion order = creation order
  const queue: JobState[] = [];
  let running = 0;
  const listeners = new Map<DownloadEventName, Set<(job: DownloadJob) => void>>();

  const snapshot = (job: DownloadJob): DownloadJob => structuredClone(job);

  function emit(event: DownloadEventName, state: JobState): void {
    const set = listeners.get(event);
    if (!set || set.size === 0) return;
    const job = snapshot(state.job);
    for (const listener of set) {
      try {
        listener(job);
      } catch {
        // A broken subscriber (say, a closed SSE stream) must not break the download.
      }
    }
  }

  function emitProgress(state: JobState, force = false): void {
    const now = Date.now();
    const due = state.lastProgressAt + progressIntervalMs;
    if (force || now >= due) {
      if (state.progressTimer) clearTimeout(state.progressTimer);
      state.progressTimer = null;
      state.lastProgressAt = now;
      emit("download_progress", state);
    } else if (!state.progressTimer) {
      // Trailing event, so the last bytes of a burst are reported too.
      state.progressTimer = setTimeout(() => emitProgress(state, true), due - now);
      state.progressTimer.unref();
    }
  }

  function pump(): void {
    while (running < maxConcurrent && queue.length > 0) void run(queue.shift()!);
  }

  async function run(state: JobState): Promise<void> {
    const { job, controller } = state;
    running++;
    job.status = "running";
    job.started_at = new Date().toISOString();
    emitProgress(state, true);
    try {
      const plan = await downloader.plan(job.request, controller.signal);
      job.commit = plan.commit;
      job.files = plan.files.map((f) => f.path);
      job.models = plan.models.map((m) => ({ main: m.main, local_path: m.local_path, size: m.size }));
      job.bytes_total = plan.bytes_total;
      emitProgress(state, true);
      await downloader.download(plan, {
        signal: controller.signal,
        discardPartialOnCancel: () => state.discardPartial,
        onProgress(p) {
          const now = Date.now();
          state.meter.sample(p.transferred, now);
          job.bytes_done = p.bytes_done;
          job.bytes_total = p.bytes_total;
          job.current_file = p.file;
          job.speed_bps = state.meter.bytesPerSecond();
          job.eta_seconds = job.speed_bps > 0 ? Math.ceil((p.bytes_total - p.bytes_done) / job.speed_bps) : null;
          emitProgress(state);
        },
      });
      job.status = "completed";
      job.bytes_done = job.bytes_total;
      job.eta_seconds = 0;
    } catch (err) {
      if (controller.signal.aborted) job.status = "cancelled";
      else {
        job.status = "failed";
        job.error = toJobError(err);
      }
    } finally {
      if (state.progressTimer) clearTimeout(state.progressTimer);
      state.progressTimer = null;
      job.current_file = null;
      job.speed_bps = 0;
      job.finished_at = new Date().toISOString();
      running--;
      settle(state);
      pump();
    }
  }

  function settle(state: JobState): void {
    const event: DownloadEventName =
      state.job.status === "completed" ? "download_completed" : state.job.status === "cancelled" ? "download_cancelled" : "download_failed";
    emit(event, state);
    state.finish(snapshot(state.job));
    pruneFinished();
  }

  function pruneFinished(): void {
    const finished = [...jobs.values()].filter((s) => !ACTIVE.has(s.job.status));
    for (const s of finished.slice(0, Math.max(0, finished.length - maxFinishedJobs))) jobs.delete(s.job.id);
  }

  async function cancel(id: string, options: CancelOptions = {}): Promise<DownloadJob | undefined> {
    const state = jobs.get(id);
    if (!state) return undefined;
    if (state.job.status === "queued") {
      queue.splice(queue.indexOf(state), 1);
      state.controller.abort();
      state.job.status = "cancelled";
      state.job.finished_at = new Date().toISOString();
      settle(state);
    } else if (state.job.status === "running") {
      state.discardPartial = options.discardPartial ?? false;
      state.controller.abort();
    }
    return state.finished;
  }

  return {
    start(input) {
      const request = parseDownloadRequest(input);
      const key = requestKey(request);
      for (const s of jobs.values()) {
        if (s.key === key && ACTIVE.has(s.job.status)) return snapshot(s.job);
      }
      let finish!: (job: DownloadJob) => void;
      const finished = new Promise<DownloadJob>((resolve) => (finish = resolve));
      const state: JobState = {
        job: {
          id: `dl_${randomUUID().replace(/-/g, "").slice(0, 20)}`,
          repo_id: request.repo_id,
          revision: request.revision ?? "main",
          commit: null,
          request,
          files: [],
          models: [],
          status: "queued",
          current_file: null,
          bytes_done: 0,
          bytes_total: 0,
          speed_bps: 0,
          eta_seconds: null,
          created_at: new Date().toISOString(),
          started_at: null,
          finished_at: null,
        },
        key,
        controller: new AbortController(),
        discardPartial: false,
        meter: createSpeedMeter(),
        lastProgressAt: 0,
        progressTimer: null,
        finished,
        finish,
      };
      jobs.set(state.job.id, state);
      queue.push(state);
      const queued = snapshot(state.job);
      pump();
      return queued;
    },

    get(id) {
      const s = jobs.get(id);
      return s && snapshot(s.job);
    },

    list() {
      return [...jobs.values()].reverse().map((s) => snapshot(s.job));
    },

    cancel,

    async wait(id) {
      return jobs.get(id)?.finished;
    },

    on(event, listener) {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      const l = listener as (job: DownloadJob) => void;
      set.add(l);
      return () => void set.delete(l);
    },

    async close() {
      const active = [...jobs.values()].filter((s) => ACTIVE.has(s.job.status));
      await Promise.all(active.map((s) => cancel(s.job.id)));
    },
  };
}

function toJobError(err: unknown): DownloadJobError {
  if (err instanceof LmxError) return { status: err.status, type: err.type, code: err.code, message: err.message };
  return {
    status: 500,
    type: "server_error",
    code: "internal_error",
    message: err instanceof Error ? err.message : String(err),
  };
}

/** Turns a failed job's error back into the LmxError it came from (for the CLI, which throws it). */
export function jobErrorToLmxError(error: DownloadJobError): LmxError {
  return new LmxError(error.message, {
    status: error.status,
    type: error.type,
    code: error.code,
  });
}
