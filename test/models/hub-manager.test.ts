/**
 * Download jobs (what the admin API and its SSE stream sit on) and the CLI's progress bar, over real
 * HTTP against the fake Hub.
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { LmxError } from "../../src/errors.js";
import { pullWithProgressBar } from "../../src/models/hub/cli-progress-bar.js";
import {
  createDownloadManager,
  type DownloadEventName,
  type DownloadJob,
  type DownloadManager,
  type DownloadManagerConfig,
} from "../../src/models/hub/download-manager.js";
import { defaultFakeRepos, type FakeHub, startFakeHub } from "../support/fake-hub.js";

const TINY_SIZE = 1750560;
const TINY = { repo_id: "lmx-test/tiny-GGUF", quant: "Q8_0" };

let hub: FakeHub;
let root: string;
let modelsDir: string;
const managers: DownloadManager[] = [];

beforeAll(async () => {
  hub = await startFakeHub({ repos: await defaultFakeRepos() });
});
afterAll(async () => {
  await hub.close();
});
beforeEach(async () => {
  hub.reset();
  root = await mkdtemp(path.join(tmpdir(), "lmx-dl-"));
  modelsDir = path.join(root, "models");
});
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.close()));
  await rm(root, { recursive: true, force: true });
});

function manager(extra: Partial<DownloadManagerConfig> = {}): DownloadManager {
  const m = createDownloadManager({ modelsDir, endpoint: hub.url, env: {}, maxRetries: 0, retryDelayMs: 10, ...extra });
  managers.push(m);
  return m;
}

function record(m: DownloadManager) {
  const events: Array<{ event: DownloadEventName; job: DownloadJob; at: number }> = [];
  for (const event of ["download_progress", "download_completed", "download_failed", "download_cancelled"] as const) {
    m.on(event, (job) => events.push({ event, job, at: Date.now() }));
  }
  return events;
}

/** Resolves with the first progress event of job `id` satisfying `predicate`. */
function progressWhere(m: DownloadManager, id: string, predicate: (job: DownloadJob) => boolean): Promise<DownloadJob> {
  return new Promise((resolve) => {
    const off = m.on("download_progress", (job) => {
      if (job.id === id && predicate(job)) {
        off();
        resolve(job);
      }
    });
  });
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

describe("download jobs", () => {
  it("runs a job to completion, reporting progress and completion", async () => {
    const m = manager();
    const events = record(m);
    const started = m.start({ repo_id: "ggml-org/models" });
    expect(started).toMatchObject({ repo_id: "ggml-org/models", revision: "main", status: "queued", bytes_done: 0 });
    expect(started.id).toMatch(/^dl_/);

    const done = await m.wait(started.id);
    expect(done).toMatchObject({
      id: started.id,
      status: "completed",
      commit: hub.commitOf("ggml-org/models"),
      files: ["tinyllamas/stories260K.gguf"],
      models: [{ main: "tinyllamas/stories260K.gguf", local_path: path.join(modelsDir, "ggml-org", "models", "tinyllamas", "stories260K.gguf"), size: 1185376 }],
      bytes_done: 1185376,
      bytes_total: 1185376,
      eta_seconds: 0,
    });
    expect(done?.finished_at).toBeTruthy();
    expect(done?.error).toBeUndefined();
    expect(m.get(started.id)).toEqual(done);
    expect(m.list().map((j) => j.id)).toEqual([started.id]);

    expect(events[0]).toMatchObject({ event: "download_progress", job: { status: "running" } });
    expect(events.filter((e) => e.event === "download_completed")).toHaveLength(1);
    expect(events.at(-1)?.event).toBe("download_completed");
  });

  it("throttles progress to the interval and reports speed and ETA", async () => {
    hub.setFault("tiny-Q8_0.gguf", { bytesPerSecond: 1_200_000 }); // about 1.5 s
    const m = manager({ progressIntervalMs: 250 });
    const events = record(m);
    const job = m.start(TINY);
    const started = Date.now();
    await m.wait(job.id);
    const elapsed = Date.now() - started;

    const progress = events.filter((e) => e.event === "download_progress");
    // Status changes are sent at once; byte updates at most every 250 ms.
    expect(progress.length).toBeLessThanOrEqual(Math.ceil(elapsed / 250) + 3);
    expect(progress.length).toBeGreaterThanOrEqual(4);
    const gaps = progress.slice(1).map((e, i) => e.at - progress[i].at);
    expect(gaps.filter((g) => g < 200).length).toBeLessThanOrEqual(2);

    const mid = progress.find((e) => e.job.bytes_done > 0 && e.job.bytes_done < TINY_SIZE && e.job.speed_bps > 0);
    expect(mid).toBeDefined();
    expect(mid!.job.speed_bps).toBeGreaterThan(400_000);
    expect(mid!.job.speed_bps).toBeLessThan(3_000_000);
    expect(mid!.job.eta_seconds).toBeGreaterThanOrEqual(0);
    expect(mid!.job.current_file).toBe("tiny-Q8_0.gguf");
  });

  it("returns the running job when the same download is started again", async () => {
    hub.setFault("tiny-Q8_0.gguf", { bytesPerSecond: 1_000_000 });
    const m = manager();
    const a = m.start(TINY);
    const b = m.start({ repo_id: "LMX-test/tiny-GGUF", quant: "q8_0", revision: "main" });
    expect(b.id).toBe(a.id);
    expect(m.start({ repo_id: "lmx-test/tiny-GGUF", quant: "Q4_K_M" }).id).not.toBe(a.id);
    await m.wait(a.id);
    // Finished: starting it again is a new job (which finds the file in place).
    const c = m.start(TINY);
    expect(c.id).not.toBe(a.id);
    expect((await m.wait(c.id))?.status).toBe("completed");
    expect(hub.fileRequests("tiny-Q8_0.gguf")).toHaveLength(1);
  });

  it("two different requests for the same file do not write it twice", async () => {
    const m = manager({ maxConcurrent: 2 });
    const a = m.start({ repo_id: "lmx-test/tiny-GGUF" }); // the default rule picks Q4_K_M
    const b = m.start({ repo_id: "lmx-test/tiny-GGUF", quant: "Q4_K_M" });
    const [ja, jb] = await Promise.all([m.wait(a.id), m.wait(b.id)]);
    expect([ja?.status, jb?.status]).toEqual(["completed", "completed"]);
    expect(hub.fileRequests("tiny-Q4_K_M.gguf")).toHaveLength(1);
  });

  it("reports a failure with the error's status and code", async () => {
    const m = manager();
    const events = record(m);
    const job = m.start({ repo_id: "nobody/nothing" });
    const done = await m.wait(job.id);
    expect(done).toMatchObject({ status: "failed", error: { status: 404, code: "repo_not_found", type: "not_found_error" } });
    expect(events.at(-1)).toMatchObject({ event: "download_failed", job: { id: job.id, status: "failed" } });
  });

  it("rejects an invalid request at once with a 400", () => {
    const m = manager();
    expect(() => m.start({ repo_id: "not a repo" })).toThrow(LmxError);
    expect(m.list()).toEqual([]);
  });

  it("cancels a running job, keeping the .part unless told otherwise", async () => {
    const dest = path.join(modelsDir, "lmx-test", "tiny-GGUF", "tiny-Q8_0.gguf");
    for (const discardPartial of [false, true]) {
      hub.setFault("tiny-Q8_0.gguf", { bytesPerSecond: 500_000 });
      const m = manager();
      const events = record(m);
      const job = m.start(TINY);
      await progressWhere(m, job.id, (j) => j.bytes_done > 50_000);
      const cancelled = await m.cancel(job.id, { discardPartial });
      expect(cancelled).toMatchObject({ id: job.id, status: "cancelled" });
      expect(cancelled?.error).toBeUndefined();
      expect(events.at(-1)).toMatchObject({ event: "download_cancelled" });
      expect(await exists(dest)).toBe(false);
      expect(await exists(`${dest}.part`)).toBe(!discardPartial);
      // Cancelling again changes nothing.
      expect((await m.cancel(job.id))?.status).toBe("cancelled");
    }
  });

  it("queues beyond maxConcurrent; a queued job can be cancelled before it starts", async () => {
    hub.setFault("tiny-Q8_0.gguf", { bytesPerSecond: 500_000 });
    const m = manager({ maxConcurrent: 1 });
    const a = m.start(TINY);
    const b = m.start({ repo_id: "ggml-org/models" });
    expect(m.get(a.id)?.status).toBe("running");
    expect(m.get(b.id)?.status).toBe("queued");
    expect(await m.cancel(b.id)).toMatchObject({ status: "cancelled" });
    expect(await m.cancel(a.id)).toMatchObject({ status: "cancelled" });
    expect(hub.requests.filter((r) => r.url.includes("ggml-org"))).toEqual([]);
    expect(m.list().map((j) => j.id)).toEqual([b.id, a.id]);
  });

  it("a throwing listener does not break the download", async () => {
    const m = manager();
    m.on("download_progress", () => {
      throw new Error("subscriber gone");
    });
    const job = m.start({ repo_id: "ggml-org/models" });
    expect((await m.wait(job.id))?.status).toBe("completed");
  });
});

describe("the CLI progress bar", () => {
  function sink() {
    let text = "";
    const stream = new Writable({
      write(chunk, _enc, cb) {
        text += String(chunk);
        cb();
      },
    });
    return { stream, text: () => text };
  }

  it("draws bytes, speed and ETA and resolves with the completed job", async () => {
    const out = sink();
    const job = await pullWithProgressBar(manager(), { repo_id: "ggml-org/models" }, { stream: out.stream, noTTYOutput: true });
    expect(job.status).toBe("completed");
    expect(out.text()).toContain("ggml-org/models");
    expect(out.text()).toContain("100%");
    expect(out.text()).toMatch(/1\.1 MiB \/ 1\.1 MiB \| [\d.]+ [KMG]?i?B\/s \| ETA 0s/);
  });

  it("throws the job's error, and `cancelled` on abort", async () => {
    const out = sink();
    await expect(pullWithProgressBar(manager(), { repo_id: "nobody/nothing" }, { stream: out.stream })).rejects.toMatchObject({
      status: 404,
      code: "repo_not_found",
    });

    hub.setFault("tiny-Q8_0.gguf", { bytesPerSecond: 500_000 });
    const controller = new AbortController();
    const m = manager();
    m.on("download_progress", (j) => j.bytes_done > 0 && controller.abort());
    await expect(pullWithProgressBar(m, TINY, { stream: out.stream, signal: controller.signal })).rejects.toMatchObject({ code: "cancelled" });
  });
});
