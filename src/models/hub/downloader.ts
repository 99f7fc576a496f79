/**
 * The download engine: request → plan (which files, from which commit) → bytes on disk, verified,
 * moved into `<modelsDir>/<org>/<repo>/<path>` and recorded in the repo's manifest.
 *
 * Layout and guarantees:
 * - A file appears at its final path only once it (and, for a split model, every shard) is verified;
 *   until then it lives at `<dest>.part`.
 * - Cancelling keeps the `.part` files by default, like a network failure, so pulling again resumes;
 *   the caller can ask for them to be deleted instead (`discardPartialOnCancel`).
 * - Disk space is checked before anything is written, and again while writing.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { isAbortError, LmxError } from "../../errors.js";
import { type HubConfig, resolveHubConfig, type ResolvedHubConfig } from "./config.js";
import { freeBytes, isDiskFullError } from "./disk-space.js";
import { cancelled, hubError, insufficientDisk } from "./errors.js";
import { fetchToPart, partPathOf } from "./fetch-to-part.js";
import { createHubClient, type HubClient } from "./hub-client.js";
import { createKeyedLock } from "./keyed-lock.js";
import { createManifestWriter, type ManifestModel, readManifest, type RepoManifest } from "./manifest.js";
import { type DownloadRequest, parseDownloadRequest } from "./request.js";
import { type RemoteFile, selectModels } from "./select-files.js";

export interface PlannedFile extends RemoteFile {
  /** Absolute destination path. */
  local_path: string;
}

export interface PlannedModel {
  /** Repo path of the file to load (the model file, or its first shard). */
  main: string;
  /** Absolute path of that file once downloaded. */
  local_path: string;
  files: PlannedFile[];
  size: number;
}

export interface DownloadPlan {
  repo_id: string;
  revision: string;
  /** The commit `revision` resolved to; files are fetched from it, so shards and retries agree. */
  commit: string | null;
  /** `<modelsDir>/<org>/<repo>` */
  repo_dir: string;
  models: PlannedModel[];
  files: PlannedFile[];
  bytes_total: number;
}

export interface DownloadProgress {
  /** Bytes of the plan's files on disk, verified or not (includes what a resumed `.part` held). */
  bytes_done: number;
  bytes_total: number;
  /** Bytes received from the network so far in this call; for speed. */
  transferred: number;
  /** The repo path being downloaded, if any. */
  file: string | null;
}

export interface DownloadedFile {
  path: string;
  local_path: string;
  size: number;
  sha256: string;
}

export interface DownloadResult {
  repo_id: string;
  revision: string;
  commit: string | null;
  models: Array<{ main: string; local_path: string; size: number; files: DownloadedFile[] }>;
  bytes_total: number;
  /** Bytes actually received; 0 when everything was already in place. */
  bytes_transferred: number;
}

export interface DownloadOptions {
  signal?: AbortSignal;
  /** Called on every received chunk; throttle before rendering. */
  onProgress?: (progress: DownloadProgress) => void;
  /** Asked when the download is cancelled: true deletes the `.part` files, false (default) keeps them for a resume. */
  discardPartialOnCancel?: () => boolean;
}

export interface HubDownloader {
  readonly config: Readonly<ResolvedHubConfig>;
  /** Resolves the revision, lists the repo and chooses files. Writes nothing. */
  plan(request: DownloadRequest, signal?: AbortSignal): Promise<DownloadPlan>;
  /** Downloads a plan. Files already in place and verified are skipped. */
  download(plan: DownloadPlan, options?: DownloadOptions): Promise<DownloadResult>;
  /** plan + download. */
  pull(request: DownloadRequest, options?: DownloadOptions): Promise<DownloadResult>;
}

export function createHubDownloader(hubConfig: HubConfig, deps: { client?: HubClient } = {}): HubDownloader {
  const config = resolveHubConfig(hubConfig);
  const client = deps.client ?? createHubClient(config);
  const locks = createKeyedLock();
  const manifests = createManifestWriter();
  /** Bytes each running download still needs, so concurrent downloads do not count the same free space twice. */
  const reservations = new Set<{ remaining: number }>();

  async function ensureSpace(dir: string, mine: { remaining: number }): Promise<void> {
    const free = await freeBytes(dir, config.statfs);
    let others = 0;
    for (const r of reservations) if (r !== mine) others += r.remaining;
    const available = free - others - config.diskReserveBytes;
    if (available < mine.remaining) throw insufficientDisk(dir, mine.remaining, Math.max(0, available));
  }

  async function plan(request: DownloadRequest, signal: AbortSignal = new AbortController().signal): Promise<DownloadPlan> {
    const req = parseDownloadRequest(request);
    const revision = req.revision ?? "main";
    try {
      const commit = await client.resolveCommit(req.repo_id, revision, signal);
      const listing = await client.listFiles(req.repo_id, commit ?? revision, signal);
      const repoDir = path.join(config.modelsDir, ...req.repo_id.split("/"));
      const safe = listing.filter((f) => isSafeRepoPath(f.path));
      const models = selectModels(safe, req, req.repo_id).map((group): PlannedModel => {
        const files = group.files.map((f) => ({ ...f, local_path: path.join(repoDir, ...f.path.split("/")) }));
        return { main: group.main, local_path: files[0].local_path, files, size: group.size };
      });
      const files = models.flatMap((m) => m.files);
      return {
        repo_id: req.repo_id,
        revision,
        commit,
        repo_dir: repoDir,
        models,
        files,
        bytes_total: files.reduce((s, f) => s + f.size, 0),
      };
    } catch (err) {
      const error = normalizeError(err, signal, config.modelsDir);
      if (error instanceof LmxError) throw error;
      // Anything else came from the Hub library (an unexpected response shape): the Hub's fault, not ours.
      throw hubError(502, `Unexpected answer from the Hub for '${req.repo_id}': ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  async function download(plan: DownloadPlan, options: DownloadOptions = {}): Promise<DownloadResult> {
    const signal = options.signal ?? new AbortController().signal;
    const reservation = { remaining: 0 };
    let release: (() => void) | undefined;
    const onDisk = new Map<string, number>();
    let transferred = 0;
    let current: string | null = null;
    const report = () => {
      let done = 0;
      for (const v of onDisk.values()) done += v;
      reservation.remaining = Math.max(0, plan.bytes_total - done);
      options.onProgress?.({ bytes_done: done, bytes_total: plan.bytes_total, transferred, file: current });
    };

    try {
      // Another job fetching the same files finishes first; then we find them in place.
      release = await locks.acquire(plan.files.map((f) => f.local_path), signal);

      const manifest = await readManifest(plan.repo_dir);
      const inPlace = new Map<string, string>(); // repo path → sha256
      for (const f of plan.files) {
        const sha = await verifiedInPlace(f, manifest, signal);
        if (sha) inPlace.set(f.path, sha);
        onDisk.set(f.path, sha ? f.size : Math.min((await sizeOf(partPathOf(f.local_path))) ?? 0, f.size));
      }
      report();
      // Checked before creating any directory: a download that cannot fit writes nothing at all.
      await ensureSpace(plan.repo_dir, reservation);
      reservations.add(reservation);

      const result: DownloadResult = {
        repo_id: plan.repo_id,
        revision: plan.revision,
        commit: plan.commit,
        models: [],
        bytes_total: plan.bytes_total,
        bytes_transferred: 0,
      };
      for (const model of plan.models) {
        const verified = new Map<string, string>();
        for (const f of model.files) {
          const known = inPlace.get(f.path);
          if (known) {
            verified.set(f.path, known);
            continue;
          }
          current = f.path;
          const part = await fetchToPart({
            client,
            repoId: plan.repo_id,
            revision: plan.commit ?? plan.revision,
            file: f,
            dest: f.local_path,
            signal,
            onBytes(bytes, delta) {
              onDisk.set(f.path, bytes);
              transferred += delta;
              report();
            },
            checkDisk: () => ensureSpace(plan.repo_dir, reservation),
            maxRetries: config.maxRetries,
            retryDelayMs: config.retryDelayMs,
            stallTimeoutMs: config.stallTimeoutMs,
            diskCheckIntervalMs: config.diskCheckIntervalMs,
          });
          verified.set(f.path, part.sha256);
        }
        // Every shard verified: only now does the model appear, all its files in one go.
        for (const f of model.files) {
          if (!inPlace.has(f.path)) await rename(partPathOf(f.local_path), f.local_path);
        }
        const files = model.files.map((f) => ({ path: f.path, local_path: f.local_path, size: f.size, sha256: verified.get(f.path)! }));
        result.models.push({ main: model.main, local_path: model.local_path, size: model.size, files });
        // Nothing new: keep the manifest entry, and its downloaded_at, as they are.
        if (model.files.every((f) => inPlace.has(f.path)) && manifest?.models[model.main]) continue;
        const entry: ManifestModel = {
          repo_id: plan.repo_id,
          revision: plan.revision,
          commit: plan.commit,
          main: model.main,
          files: files.map(({ path: p, size, sha256 }) => ({ path: p, size, sha256 })),
          size: model.size,
          downloaded_at: new Date().toISOString(),
        };
        await manifests.record(plan.repo_dir, entry);
      }
      current = null;
      result.bytes_transferred = transferred;
      report();
      return result;
    } catch (err) {
      const error = normalizeError(err, signal, plan.repo_dir);
      if (error instanceof LmxError && error.code === "cancelled" && options.discardPartialOnCancel?.()) {
        await Promise.all(plan.files.map((f) => rm(partPathOf(f.local_path), { force: true })));
      }
      throw error;
    } finally {
      reservations.delete(reservation);
      release?.();
    }
  }

  return {
    config,
    plan,
    download,
    async pull(request, options = {}) {
      return download(await plan(request, options.signal), options);
    },
  };
}

/**
 * The sha256 of a file already at its destination with the right content, or null. The manifest's
 * word is taken when it records the Hub's hash for this path; otherwise the file is hashed (still far
 * cheaper than downloading it again).
 */
async function verifiedInPlace(f: PlannedFile, manifest: RepoManifest | null, signal: AbortSignal): Promise<string | null> {
  const size = await sizeOf(f.local_path);
  if (size !== f.size) return null;
  if (f.sha256) {
    for (const model of Object.values(manifest?.models ?? {})) {
      if (model.files.some((m) => m.path === f.path && m.size === f.size && m.sha256 === f.sha256)) return f.sha256;
    }
  }
  const sha256 = createHash("sha256");
  const sha1 = createHash("sha1").update(`blob ${f.size}\0`);
  for await (const chunk of createReadStream(f.local_path, { signal })) {
    sha256.update(chunk as Buffer);
    if (!f.sha256) sha1.update(chunk as Buffer);
  }
  const digest = sha256.digest("hex");
  const ok = f.sha256 ? digest === f.sha256 : sha1.digest("hex") === f.gitOid;
  return ok ? digest : null;
}

/** Rejects paths a hostile or broken listing could use to write outside the repo directory. */
function isSafeRepoPath(p: string): boolean {
  if (p.length === 0 || p.startsWith("/") || p.includes("\\") || p.includes("\0")) return false;
  return p.split("/").every((seg) => seg !== "" && seg !== "." && seg !== "..");
}

/** LmxErrors pass; aborts become `cancelled`; a full disk becomes `insufficient_disk`; the rest is left alone. */
function normalizeError(err: unknown, signal: AbortSignal, dir: string): unknown {
  if (err instanceof LmxError) return err;
  if (signal.aborted || isAbortError(err)) return cancelled();
  if (isDiskFullError(err)) return insufficientDisk(dir);
  return err;
}

async function sizeOf(p: string): Promise<number | null> {
  try {
    return (await stat(p)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}
