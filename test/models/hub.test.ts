/**
 * The download engine over real HTTP against the fake Hub (test/support/fake-hub.ts).
 */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { LmxError } from "../../src/errors.js";
import type { HubConfig } from "../../src/models/hub/config.js";
import { createHubDownloader, type DownloadProgress } from "../../src/models/hub/downloader.js";
import { MANIFEST_FILE, readManifest } from "../../src/models/hub/manifest.js";
import { parsePullSpec } from "../../src/models/hub/request.js";
import { defaultFakeRepos, type FakeHub, GRANTED_TOKEN, startFakeHub, testModelsDir } from "../support/fake-hub.js";

const STORIES_SHA = "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d";
const TINY_SHA = "81f226c62d28ed4a1a9b9fa080fcd9f0cc40e0f9d5680036583ff98fbcd035cb";
const TINY_SIZE = 1750560;

let hub: FakeHub;
let root: string;
let modelsDir: string;

beforeAll(async () => {
  hub = await startFakeHub({ repos: await defaultFakeRepos() });
});
afterAll(async () => {
  await hub.close();
});
beforeEach(async () => {
  hub.reset();
  root = await mkdtemp(path.join(tmpdir(), "lmx-hub-"));
  // Not created in advance: a refused download must not even create it.
  modelsDir = path.join(root, "models");
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function downloader(extra: Partial<HubConfig> = {}) {
  // env: {} so a developer's own HF_TOKEN / HF_ENDPOINT never leaks into the tests.
  return createHubDownloader({ modelsDir, endpoint: hub.url, env: {}, retryDelayMs: 10, maxRetries: 0, ...extra });
}

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");
const sha256Of = async (file: string) => sha256(await readFile(file));

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

async function rejection(promise: Promise<unknown>): Promise<LmxError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(LmxError);
    return err as LmxError;
  }
  throw new Error("expected the promise to reject");
}

async function listTree(dir: string): Promise<string[]> {
  if (!(await exists(dir))) return [];
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

describe("downloading from the Hub", () => {
  it("downloads a file to <models>/<org>/<repo>/<path>, verified, with a manifest", async () => {
    // A token is configured, so we can see it goes to the Hub and never to the CDN.
    const result = await downloader({ token: "hf_any_token" }).pull(parsePullSpec("ggml-org/models:tinyllamas/stories260K.gguf"));

    const dest = path.join(modelsDir, "ggml-org", "models", "tinyllamas", "stories260K.gguf");
    expect(result.models).toHaveLength(1);
    expect(result.models[0].local_path).toBe(dest);
    expect(await sha256Of(dest)).toBe(STORIES_SHA);
    expect(await exists(`${dest}.part`)).toBe(false);

    const manifest = await readManifest(path.join(modelsDir, "ggml-org", "models"));
    const entry = manifest?.models["tinyllamas/stories260K.gguf"];
    expect(entry).toMatchObject({
      repo_id: "ggml-org/models",
      revision: "main",
      commit: hub.commitOf("ggml-org/models"),
      main: "tinyllamas/stories260K.gguf",
      files: [{ path: "tinyllamas/stories260K.gguf", size: 1185376, sha256: STORIES_SHA }],
      size: 1185376,
    });
    expect(Date.parse(entry!.downloaded_at)).toBeGreaterThan(Date.now() - 60_000);

    // The Hub redirected to the CDN; the token went to the Hub only; files came from the resolved commit.
    const resolve = hub.requests.find((r) => r.server === "hub" && r.url.includes("/resolve/"));
    expect(resolve).toMatchObject({ status: 302, authorization: "Bearer hf_any_token" });
    expect(resolve!.url).toContain(`/resolve/${hub.commitOf("ggml-org/models")}/`);
    const cdn = hub.fileRequests("tinyllamas/stories260K.gguf").filter((r) => r.server === "cdn");
    expect(cdn).toHaveLength(1);
    expect(cdn[0]).toMatchObject({ status: 200, authorization: null, bytesSent: 1185376 });
  });

  it("skips a file already in place", async () => {
    const d = downloader();
    await d.pull({ repo_id: "ggml-org/models" });
    const manifestPath = path.join(modelsDir, "ggml-org", "models", MANIFEST_FILE);
    const manifestBefore = await readFile(manifestPath, "utf8");
    hub.reset();
    const again = await d.pull({ repo_id: "ggml-org/models" });
    expect(again.bytes_transferred).toBe(0);
    expect(again.models[0].files[0].sha256).toBe(STORIES_SHA);
    expect(await readFile(manifestPath, "utf8")).toBe(manifestBefore);
    expect(hub.requests.filter((r) => r.url.includes("/resolve/") || r.server === "cdn")).toEqual([]);
  });

  it("adopts a correct file found in place without a manifest, and replaces a wrong one", async () => {
    const repoDir = path.join(modelsDir, "lmx-test", "tiny-GGUF");
    await mkdir(repoDir, { recursive: true });
    await writeFile(path.join(repoDir, "tiny-Q4_K_M.gguf"), await readFile(path.join(testModelsDir(), "stories260K.gguf")));
    await writeFile(path.join(repoDir, "tiny-Q8_0.gguf"), Buffer.alloc(TINY_SIZE)); // right size, wrong bytes
    const result = await downloader().pull({ repo_id: "lmx-test/tiny-GGUF", allow_patterns: ["tiny-Q4_K_M.gguf", "tiny-Q8_0.gguf"] });
    expect(result.bytes_transferred).toBe(TINY_SIZE);
    expect(hub.fileRequests("tiny-Q4_K_M.gguf")).toEqual([]);
    expect(await sha256Of(path.join(repoDir, "tiny-Q8_0.gguf"))).toBe(TINY_SHA);
    expect(Object.keys((await readManifest(repoDir))!.models).sort()).toEqual(["tiny-Q4_K_M.gguf", "tiny-Q8_0.gguf"]);
  });

  it("follows the tree listing's pagination", async () => {
    const paged = await startFakeHub({ repos: await defaultFakeRepos(), treePageSize: 2 });
    try {
      const d = createHubDownloader({ modelsDir, endpoint: paged.url, env: {} });
      const plan = await d.plan({ repo_id: "lmx-test/sharded-GGUF", quant: "Q8_0" });
      expect(plan.files.map((f) => f.path)).toHaveLength(3);
      expect(paged.requests.filter((r) => r.url.includes("/tree/")).length).toBeGreaterThan(1);
    } finally {
      await paged.close();
    }
  });

  it("verifies a non-LFS file against its git blob id", async () => {
    const result = await downloader().pull({ repo_id: "ggml-org/models", allow_patterns: ["*.md"] });
    expect(result.models.map((m) => m.main)).toEqual(["README.md"]);
    expect(await readFile(path.join(modelsDir, "ggml-org", "models", "README.md"), "utf8")).toContain("Test models");
    // Small files are served by the Hub itself, not the CDN.
    expect(hub.fileRequests("README.md")).toMatchObject([{ server: "hub", status: 200 }]);
  });
});

describe("choosing the file", () => {
  it("matches a quant tag case-insensitively", async () => {
    const result = await downloader().pull(parsePullSpec("lmx-test/tiny-GGUF:q8_0"));
    expect(result.models[0].files.map((f) => f.path)).toEqual(["tiny-Q8_0.gguf"]);
    expect(await sha256Of(path.join(modelsDir, "lmx-test", "tiny-GGUF", "tiny-Q8_0.gguf"))).toBe(TINY_SHA);
    expect(await listTree(path.join(modelsDir, "lmx-test", "tiny-GGUF"))).toEqual([MANIFEST_FILE, "tiny-Q8_0.gguf"]);
  });

  it("applies the default rule: Q4_K_M first, else the smallest model (a projector is no model)", async () => {
    const d = downloader();
    expect((await d.plan({ repo_id: "lmx-test/tiny-GGUF" })).files.map((f) => f.path)).toEqual(["tiny-Q4_K_M.gguf"]);
    expect((await d.plan({ repo_id: "lmx-test/no-preferred-GGUF" })).files.map((f) => f.path)).toEqual(["x-Q3_K_S.gguf"]);
  });

  it("names the available files when a quant is missing", async () => {
    const err = await rejection(downloader().pull(parsePullSpec("lmx-test/tiny-GGUF:Q5_K_M")));
    expect(err).toMatchObject({ status: 404, code: "file_not_found" });
    expect(err.message).toContain("tiny-Q4_K_M.gguf");
  });
});

describe("resuming and verifying", () => {
  it("resumes an interrupted download with a Range request", async () => {
    const dest = path.join(modelsDir, "lmx-test", "tiny-GGUF", "tiny-Q8_0.gguf");
    hub.setFault("tiny-Q8_0.gguf", { dropAfterBytes: 700_000, times: 1 });
    const err = await rejection(downloader().pull({ repo_id: "lmx-test/tiny-GGUF", quant: "Q8_0" }));
    expect(err).toMatchObject({ status: 502, code: "network_error" });
    expect(await exists(dest)).toBe(false);
    const partSize = (await stat(`${dest}.part`)).size;
    expect(partSize).toBeGreaterThan(0);
    expect(partSize).toBeLessThanOrEqual(700_000);

    const progress: DownloadProgress[] = [];
    await downloader().pull({ repo_id: "lmx-test/tiny-GGUF", quant: "Q8_0" }, { onProgress: (p) => progress.push(p) });
    expect(await sha256Of(dest)).toBe(TINY_SHA);
    expect(await exists(`${dest}.part`)).toBe(false);

    const [first, second] = hub.fileRequests("tiny-Q8_0.gguf");
    expect(first.range).toBeNull();
    expect(second).toMatchObject({ range: `bytes=${partSize}-`, status: 206, bytesSent: TINY_SIZE - partSize });
    // Progress starts from what the .part held, and only new bytes count as transferred.
    expect(progress[0].bytes_done).toBe(partSize);
    expect(progress.at(-1)).toMatchObject({ bytes_done: TINY_SIZE, transferred: TINY_SIZE - partSize });
  });

  it("retries by itself, resuming, when allowed to", async () => {
    hub.setFault("tiny-Q8_0.gguf", { dropAfterBytes: 300_000, times: 2 });
    await downloader({ maxRetries: 3 }).pull({ repo_id: "lmx-test/tiny-GGUF", quant: "Q8_0" });
    const served = hub.fileRequests("tiny-Q8_0.gguf");
    expect(served.map((r) => r.range)).toEqual([null, expect.stringMatching(/^bytes=\d+-$/), expect.stringMatching(/^bytes=\d+-$/)]);
    expect(served.reduce((s, r) => s + r.bytesSent, 0)).toBe(TINY_SIZE);
  });

  it("treats a connection that stops sending as lost, and resumes", async () => {
    hub.setFault("tiny-Q8_0.gguf", { stallAfterBytes: 400_000, times: 1 });
    await downloader({ maxRetries: 1, stallTimeoutMs: 300 }).pull({ repo_id: "lmx-test/tiny-GGUF", quant: "Q8_0" });
    expect(await sha256Of(path.join(modelsDir, "lmx-test", "tiny-GGUF", "tiny-Q8_0.gguf"))).toBe(TINY_SHA);
    expect(hub.fileRequests("tiny-Q8_0.gguf").map((r) => r.range)).toEqual([null, "bytes=400000-"]);
  });

  it("catches a corrupted byte: checksum_mismatch, and nothing left behind", async () => {
    hub.setFault("tiny-Q8_0.gguf", { corruptAt: 123_456 });
    const err = await rejection(downloader({ maxRetries: 3 }).pull({ repo_id: "lmx-test/tiny-GGUF", quant: "Q8_0" }));
    expect(err).toMatchObject({ status: 502, code: "checksum_mismatch" });
    expect(await listTree(modelsDir)).toEqual(["lmx-test", "lmx-test/tiny-GGUF"]);
    // A bad checksum is not retried: the same bytes would come back.
    expect(hub.fileRequests("tiny-Q8_0.gguf")).toHaveLength(1);
  });

  it("starts over once when a resumed .part turns out to hold other bytes", async () => {
    const dest = path.join(modelsDir, "lmx-test", "tiny-GGUF", "tiny-Q8_0.gguf");
    await mkdir(path.dirname(dest), { recursive: true });
    await writeFile(`${dest}.part`, Buffer.alloc(50_000, 7)); // e.g. left by an older version of the file
    await downloader().pull({ repo_id: "lmx-test/tiny-GGUF", quant: "Q8_0" });
    expect(await sha256Of(dest)).toBe(TINY_SHA);
    expect(hub.fileRequests("tiny-Q8_0.gguf").map((r) => r.range)).toEqual(["bytes=50000-", null]);
  });
});

describe("errors", () => {
  it("unknown repo → 404 repo_not_found", async () => {
    const err = await rejection(downloader().pull({ repo_id: "nobody/nothing" }));
    expect(err).toMatchObject({ status: 404, code: "repo_not_found", type: "not_found_error" });
  });

  it("file not in the repo → 404 file_not_found", async () => {
    const err = await rejection(downloader().pull({ repo_id: "ggml-org/models", file: "nope.gguf" }));
    expect(err).toMatchObject({ status: 404, code: "file_not_found" });
  });

  it("unknown revision → 404 revision_not_found", async () => {
    const err = await rejection(downloader().pull({ repo_id: "ggml-org/models", revision: "v9" }));
    expect(err).toMatchObject({ status: 404, code: "revision_not_found" });
  });

  it("gated repo: 401 without a token, 403 with one not granted, success with a granted one", async () => {
    const request = { repo_id: "lmx-test/gated-GGUF" };
    expect(await rejection(downloader().pull(request))).toMatchObject({ status: 401, code: "gated_repo", type: "authentication_error" });
    expect(await rejection(downloader({ token: "hf_not_granted" }).pull(request))).toMatchObject({
      status: 403,
      code: "gated_repo",
      type: "permission_error",
    });
    expect(await rejection(downloader({ token: "garbage" }).pull(request))).toMatchObject({ status: 401, code: "unauthorized" });
    expect(await listTree(modelsDir)).toEqual([]);

    // The token from the environment (HF_TOKEN) when the caller passes none.
    await downloader({ env: { HF_TOKEN: GRANTED_TOKEN } }).pull(request);
    expect(await sha256Of(path.join(modelsDir, "lmx-test", "gated-GGUF", "gated-Q4_K_M.gguf"))).toBe(STORIES_SHA);
    expect(hub.fileRequests("gated-Q4_K_M.gguf").every((r) => r.authorization === null)).toBe(true);
  });

  it("takes HF_ENDPOINT from the environment", async () => {
    const d = createHubDownloader({ modelsDir, env: { HF_ENDPOINT: `${hub.url}/` } });
    expect(d.config.endpoint).toBe(hub.url);
    expect((await d.plan({ repo_id: "ggml-org/models" })).commit).toBe(hub.commitOf("ggml-org/models"));
  });

  it("an unreachable Hub → 502 network_error", async () => {
    const dead = await startFakeHub({ repos: [] });
    await dead.close();
    const err = await rejection(createHubDownloader({ modelsDir, endpoint: dead.url, env: {} }).pull({ repo_id: "a/b" }));
    expect(err).toMatchObject({ status: 502, code: "network_error" });
  });
});

describe("cancelling", () => {
  async function cancelMidway(discard: boolean) {
    hub.setFault("tiny-Q8_0.gguf", { bytesPerSecond: 400_000 });
    const controller = new AbortController();
    const started = Date.now();
    const err = await rejection(
      downloader().pull(
        { repo_id: "lmx-test/tiny-GGUF", quant: "Q8_0" },
        {
          signal: controller.signal,
          onProgress: (p) => p.bytes_done > 100_000 && controller.abort(),
          discardPartialOnCancel: () => discard,
        },
      ),
    );
    expect(err).toMatchObject({ code: "cancelled" });
    expect(Date.now() - started).toBeLessThan(3000); // well before the throttled file could finish
    return path.join(modelsDir, "lmx-test", "tiny-GGUF", "tiny-Q8_0.gguf");
  }

  it("keeps the .part by default, so pulling again resumes", async () => {
    const dest = await cancelMidway(false);
    expect(await exists(dest)).toBe(false);
    expect((await stat(`${dest}.part`)).size).toBeGreaterThan(100_000);
  });

  it("deletes the .part when asked", async () => {
    const dest = await cancelMidway(true);
    expect(await exists(dest)).toBe(false);
    expect(await exists(`${dest}.part`)).toBe(false);
  });
});

describe("disk space", () => {
  it("refuses up front, writing nothing, when the disk is too small", async () => {
    const statfs = async () => ({ bavail: 100, bsize: 4096 }); // 400 KiB free
    const err = await rejection(downloader({ statfs }).pull({ repo_id: "lmx-test/tiny-GGUF", quant: "Q8_0" }));
    expect(err).toMatchObject({ status: 507, code: "insufficient_disk", type: "insufficient_storage_error" });
    expect(await exists(modelsDir)).toBe(false);
    expect(hub.fileRequests("tiny-Q8_0.gguf")).toEqual([]);
  });

  it("stops when free space runs out while writing, keeping the .part", async () => {
    let calls = 0;
    // Plenty at the start; then something else fills the disk.
    const statfs = async () => ({ bavail: ++calls === 1 ? 1e9 : 10, bsize: 4096 });
    hub.setFault("tiny-Q8_0.gguf", { bytesPerSecond: 2_000_000 });
    const err = await rejection(downloader({ statfs, diskCheckIntervalMs: 0 }).pull({ repo_id: "lmx-test/tiny-GGUF", quant: "Q8_0" }));
    expect(err).toMatchObject({ status: 507, code: "insufficient_disk" });
    const dest = path.join(modelsDir, "lmx-test", "tiny-GGUF", "tiny-Q8_0.gguf");
    expect(await exists(dest)).toBe(false);
    expect(await exists(`${dest}.part`)).toBe(true);
  });

  it("asks the nearest existing directory when the models dir does not exist yet", async () => {
    const asked: string[] = [];
    const statfs = async (p: string) => {
      asked.push(p);
      if (!(await exists(p))) throw Object.assign(new Error("ENOENT"), { code: "ENOENT" });
      return { bavail: 1e9, bsize: 4096 };
    };
    await downloader({ statfs }).pull({ repo_id: "ggml-org/models" });
    expect(asked).toContain(root);
  });
});

describe("split models", () => {
  const shardNames = [1, 2, 3].map((i) => `tiny-Q8_0-0000${i}-of-00003.gguf`);

  it("downloads every shard as one model", async () => {
    const result = await downloader().pull(parsePullSpec("lmx-test/sharded-GGUF:Q8_0"));
    const repoDir = path.join(modelsDir, "lmx-test", "sharded-GGUF");
    expect(result.models).toHaveLength(1);
    expect(result.models[0].local_path).toBe(path.join(repoDir, shardNames[0]));
    const joined = Buffer.concat(await Promise.all(shardNames.map((n) => readFile(path.join(repoDir, n)))));
    expect(sha256(joined)).toBe(TINY_SHA);

    const manifest = await readManifest(repoDir);
    expect(Object.keys(manifest!.models)).toEqual([shardNames[0]]);
    expect(manifest!.models[shardNames[0]].files.map((f) => f.path)).toEqual(shardNames);
    expect(manifest!.models[shardNames[0]].size).toBe(TINY_SIZE);
  });

  it("brings all shards when one is named", async () => {
    const plan = await downloader().plan({ repo_id: "lmx-test/sharded-GGUF", file: shardNames[1] });
    expect(plan.files.map((f) => f.path)).toEqual(shardNames);
    expect(plan.models.map((m) => m.main)).toEqual([shardNames[0]]);
  });

  it("shows no shard at its final path until all are verified, and a retry fetches only what is missing", async () => {
    const repoDir = path.join(modelsDir, "lmx-test", "sharded-GGUF");
    hub.setFault(shardNames[2], { dropAfterBytes: 1000, times: 1 });
    expect(await rejection(downloader().pull({ repo_id: "lmx-test/sharded-GGUF", quant: "Q8_0" }))).toMatchObject({ code: "network_error" });
    expect(await listTree(repoDir)).toEqual(shardNames.map((n) => `${n}.part`));

    hub.reset();
    await downloader().pull({ repo_id: "lmx-test/sharded-GGUF", quant: "Q8_0" });
    expect(await listTree(repoDir)).toEqual([MANIFEST_FILE, ...shardNames]);
    // Shards 1 and 2 were complete: checked locally, not downloaded again.
    expect(hub.fileRequests(shardNames[0])).toEqual([]);
    expect(hub.fileRequests(shardNames[1])).toEqual([]);
    expect(hub.fileRequests(shardNames[2])).toMatchObject([{ status: 206 }]);
  });
});

describe("test models", () => {
  it("come from LMX_TEST_MODELS_DIR or ../shared/models", async () => {
    expect(await sha256Of(path.join(testModelsDir(), "stories260K.gguf"))).toBe(STORIES_SHA);
  });
});
