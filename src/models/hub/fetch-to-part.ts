/**
 * Downloading one file into `<dest>.part`, resuming what an earlier attempt left there, and verifying
 * it against the Hub's hash. The caller renames verified parts into place (all shards of a model at
 * once), so a file at its final path is always complete and verified.
 *
 * What a failure leaves behind:
 * - network loss, stall, Hub 5xx, disk full, cancel: the `.part` stays, and the next attempt (a retry
 *   here, or a later pull) resumes it with a Range request;
 * - checksum mismatch: the `.part` is deleted (its bytes are wrong somewhere, we cannot tell where).
 */
import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, rm, stat } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { LmxError } from "../../errors.js";
import { isDiskFullError } from "./disk-space.js";
import { cancelled, checksumMismatch, insufficientDisk, isRetryable, networkError } from "./errors.js";
import type { HubClient } from "./hub-client.js";
import type { RemoteFile } from "./select-files.js";

export interface FetchToPartOptions {
  client: HubClient;
  repoId: string;
  /** Preferably the resolved commit, so every attempt and every shard reads the same version. */
  revision: string;
  file: RemoteFile;
  dest: string;
  signal: AbortSignal;
  /** `bytesOnDisk` of this file so far (can go down when a restart discards bytes); `transferred` new bytes received. */
  onBytes(bytesOnDisk: number, transferred: number): void;
  /** Throws (insufficient_disk) when the disk can no longer hold what the download still needs. */
  checkDisk(): Promise<void>;
  maxRetries: number;
  retryDelayMs: number;
  stallTimeoutMs: number;
  diskCheckIntervalMs: number;
}

export interface VerifiedPart {
  partPath: string;
  sha256: string;
}

/** Buffered bytes are written in batches of about this size: one syscall per network chunk is wasteful. */
const WRITE_BATCH = 1 << 20;

export const partPathOf = (dest: string) => `${dest}.part`;

export async function fetchToPart(options: FetchToPartOptions): Promise<VerifiedPart> {
  const { signal, maxRetries, retryDelayMs } = options;
  const state = { resumed: false };
  let restartedAfterMismatch = false;
  for (let attempt = 0; ; attempt++) {
    try {
      return await attemptOnce(options, state);
    } catch (err) {
      if (signal.aborted) throw cancelled();
      // A `.part` left by an earlier pull may belong to another version of the file (the branch
      // moved); its bytes are now deleted, so one fresh download settles it.
      if (err instanceof LmxError && err.code === "checksum_mismatch" && state.resumed && !restartedAfterMismatch) {
        restartedAfterMismatch = true;
        continue;
      }
      if (!isRetryable(err) || attempt >= maxRetries) throw err;
      try {
        await sleep(retryDelayMs * 2 ** attempt, undefined, { signal });
      } catch {
        throw cancelled();
      }
    }
  }
}

async function attemptOnce(options: FetchToPartOptions, state: { resumed: boolean }): Promise<VerifiedPart> {
  const { file, signal, onBytes } = options;
  const partPath = partPathOf(options.dest);
  let offset = await sizeOf(partPath);
  if (offset > file.size) {
    await rm(partPath, { force: true });
    offset = 0;
  }
  state.resumed = offset > 0;
  const hashes = new FileHashes(file);
  if (offset > 0) await hashes.updateFromFile(partPath, offset, signal);
  onBytes(offset, 0);

  if (offset < file.size) offset = await receive(options, partPath, offset, hashes);

  if (offset < file.size) {
    throw networkError(`The connection closed after ${offset} of ${file.size} bytes of '${file.path}'.`);
  }
  const { sha256, ok, expected, actual } = hashes.verify();
  if (!ok || offset !== file.size) {
    await rm(partPath, { force: true });
    onBytes(0, 0);
    throw checksumMismatch(file.path, expected, actual);
  }
  return { partPath, sha256 };
}

/** Streams the response into the part file from `offset`; returns the part's size afterwards. */
async function receive(options: FetchToPartOptions, partPath: string, offset: number, hashes: FileHashes): Promise<number> {
  const { client, repoId, revision, file, signal, onBytes, stallTimeoutMs } = options;
  // A watchdog aborts the request when no byte arrives for stallTimeoutMs: a half-dead connection
  // otherwise hangs until the kernel gives up, which can take many minutes.
  const stall = new AbortController();
  const requestSignal = AbortSignal.any([signal, stall.signal]);
  let lastByteAt = Date.now();
  const watchdog = setInterval(() => {
    if (Date.now() - lastByteAt > stallTimeoutMs) stall.abort();
  }, Math.min(1000, stallTimeoutMs));

  let handle: Awaited<ReturnType<typeof open>> | undefined;
  let size = offset;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (pendingBytes === 0 || !handle) return;
    const batch = pending;
    pending = [];
    pendingBytes = 0;
    await handle.writev(batch);
  };
  try {
    let res = await client.openFile(repoId, revision, file.path, { offset, signal: requestSignal });
    lastByteAt = Date.now();
    if (res.status === 416) {
      // The `.part` reaches past the end of the file the server has: it is not a prefix of this file.
      await res.body?.cancel();
      await rm(partPath, { force: true });
      hashes.reset();
      size = 0;
      onBytes(0, 0);
      res = await client.openFile(repoId, revision, file.path, { offset: 0, signal: requestSignal });
    }
    if (res.status === 206) {
      const start = Number(/^bytes (\d+)-/.exec(res.headers.get("content-range") ?? "")?.[1]);
      if (start !== size) {
        await res.body?.cancel();
        throw networkError(`The server answered a range request for '${file.path}' with the wrong range.`);
      }
    } else if (size > 0) {
      // 200 to a range request: the server sends the whole file, so start over.
      hashes.reset();
      size = 0;
      onBytes(0, 0);
    }
    if (!res.body) throw networkError(`Empty response body for '${file.path}'.`);

    // Only now, with the Hub's go-ahead, does anything appear on disk: a refused download leaves no trace.
    await mkdir(path.dirname(partPath), { recursive: true });
    handle = await open(partPath, size === 0 ? "w" : "a");
    let lastDiskCheck = Date.now();
    for await (const chunk of res.body) {
      lastByteAt = Date.now();
      const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      hashes.update(buf);
      pending.push(buf);
      pendingBytes += buf.length;
      size += buf.length;
      if (pendingBytes >= WRITE_BATCH) await flush();
      onBytes(size, buf.length);
      if (lastByteAt - lastDiskCheck >= options.diskCheckIntervalMs) {
        lastDiskCheck = lastByteAt;
        await flush();
        await options.checkDisk();
      }
    }
    await flush();
    // Durable before the caller renames it into place: after a crash, a model file at its final path
    // must not turn out to be a hole.
    await handle.sync();
    return size;
  } catch (err) {
    // Bytes received before the failure are good: keep them in the `.part` for the resume.
    if (!isDiskFullError(err)) await flush().catch(() => undefined);
    if (signal.aborted) throw cancelled();
    if (stall.signal.aborted) {
      throw networkError(`No data received for ${Math.round(stallTimeoutMs / 1000)} s while downloading '${file.path}'.`);
    }
    if (isDiskFullError(err)) throw insufficientDisk(partPath);
    if (err instanceof LmxError) throw err;
    throw networkError(`The download of '${file.path}' was interrupted: ${describe(err)}`, err);
  } finally {
    clearInterval(watchdog);
    await handle?.close().catch(() => undefined);
  }
}

/** sha256 always (for the manifest); git's blob sha1 too when the Hub gives no LFS hash to verify against. */
class FileHashes {
  private sha256!: Hash;
  private gitSha1: Hash | null = null;

  constructor(private readonly file: RemoteFile) {
    this.reset();
  }

  reset(): void {
    this.sha256 = createHash("sha256");
    this.gitSha1 = this.file.sha256 ? null : createHash("sha1").update(`blob ${this.file.size}\0`);
  }

  update(buf: Buffer): void {
    this.sha256.update(buf);
    this.gitSha1?.update(buf);
  }

  async updateFromFile(filePath: string, length: number, signal: AbortSignal): Promise<void> {
    try {
      for await (const chunk of createReadStream(filePath, { start: 0, end: length - 1, signal })) {
        this.update(chunk as Buffer);
      }
    } catch (err) {
      if (signal.aborted) throw cancelled();
      throw err;
    }
  }

  verify(): { sha256: string; ok: boolean; expected: string; actual: string } {
    const sha256 = this.sha256.digest("hex");
    if (this.file.sha256) {
      return { sha256, ok: sha256 === this.file.sha256.toLowerCase(), expected: `sha256:${this.file.sha256}`, actual: `sha256:${sha256}` };
    }
    const sha1 = this.gitSha1!.digest("hex");
    return { sha256, ok: sha1 === this.file.gitOid, expected: `git-sha1:${this.file.gitOid}`, actual: `git-sha1:${sha1}` };
  }
}

async function sizeOf(p: string): Promise<number> {
  try {
    return (await stat(p)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return 0;
    throw err;
  }
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? ` (${err.cause.message})` : "";
  return `${err.message}${cause}`;
}
