/**
 * A fake Hugging Face Hub on loopback, for download tests on a machine that cannot reach the real one.
 *
 * Two real HTTP servers, like the real thing: the Hub (API + `resolve`) and a CDN that `resolve`
 * redirects LFS files to with a signed URL. It implements what the downloader uses, with the real
 * Hub's status codes and `X-Error-Code` headers:
 * - GET /api/models/{org}/{repo}[/revision/{rev}]           model info (sha, gated)
 * - GET /api/models/{org}/{repo}/tree/{rev}[/{path}]        listing, `lfs: {oid (sha256), size}`, Link pagination
 * - GET|HEAD /{org}/{repo}/resolve/{rev}/{path}             302 to the CDN for LFS files, 200 for small ones
 * - GET|HEAD CDN /repos/{org}/{repo}/{sha256}?...&sig=      bytes with Range; 400 if sent an Authorization
 *   header (S3 rejects a signed URL plus a token), 403 if the signature is wrong
 * Unknown repo → 404 RepoNotFound; unknown revision → 404 RevisionNotFound; unknown file → 404
 * EntryNotFound; gated repo without token → 401 GatedRepo, with a token not granted access → 403
 * GatedRepo, with a malformed token → 401 "Invalid credentials in Authorization header".
 *
 * Fault injection per file path (the bytes-serving responses of either server): drop the connection
 * after N bytes, stall after N bytes, corrupt one byte, throttle to N bytes/s; each for a number of
 * responses or forever.
 * Every request is recorded (server, method, path, Range, Authorization, status, body bytes sent).
 */
import { createHash, createHmac, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

export interface FakeFile {
  path: string;
  data: Buffer;
  /** Stored in LFS (listed with `lfs`, served through the CDN). Default: true for `.gguf` files. */
  lfs?: boolean;
}

export interface FakeRepo {
  /** "org/name" */
  id: string;
  files: FakeFile[];
  gated?: boolean;
}

export interface Fault {
  /** Close the connection after sending this many body bytes of a response. */
  dropAfterBytes?: number;
  /** Stop sending (keeping the connection open) after this many body bytes. */
  stallAfterBytes?: number;
  /** Flip the byte at this offset of the file (whatever range is being served). */
  corruptAt?: number;
  /** Send at most this many bytes per second. */
  bytesPerSecond?: number;
  /** How many responses the fault applies to. Default: all. */
  times?: number;
}

export interface RecordedRequest {
  server: "hub" | "cdn";
  method: string;
  /** Path and query, as received. */
  url: string;
  /** For byte-serving responses, the repo path of the file served. */
  file: string | null;
  range: string | null;
  authorization: string | null;
  status: number;
  /** Body bytes written for this response. */
  bytesSent: number;
}

export interface FakeHubOptions {
  repos: FakeRepo[];
  /** Tokens granted access to gated repos. Any other token starting with `hf_` is valid but not granted. */
  grantedTokens?: string[];
  /** Entries per tree page (the real Hub pages at 1000); small values exercise pagination. */
  treePageSize?: number;
}

export interface FakeHub {
  /** Base URL of the Hub: what HF_ENDPOINT would be. */
  url: string;
  cdnUrl: string;
  requests: RecordedRequest[];
  /** Sets (or with null clears) a fault on every response serving `filePath` (a repo path). */
  setFault(filePath: string, fault: Fault | null): void;
  /** Clears faults and recorded requests. */
  reset(): void;
  /** Recorded byte-serving responses for a file (both servers). */
  fileRequests(filePath: string): RecordedRequest[];
  commitOf(repoId: string): string;
  close(): Promise<void>;
}

interface StoredFile {
  repoId: string;
  path: string;
  data: Buffer;
  lfs: boolean;
  sha256: string;
  gitOid: string;
}

interface StoredRepo {
  id: string;
  gated: boolean;
  commit: string;
  files: Map<string, StoredFile>;
}

/** The shared test models: LMX_TEST_MODELS_DIR, else `../shared/models` next to the project. */
export function testModelsDir(): string {
  const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
  return process.env.LMX_TEST_MODELS_DIR ?? path.resolve(repoRoot, "..", "shared", "models");
}

export const GRANTED_TOKEN = "hf_fakehub_granted_token";

/** Splits `data` into `n` nearly equal parts (for fake shards: they need not be loadable, only byte-exact). */
export function splitBuffer(data: Buffer, n: number): Buffer[] {
  const size = Math.ceil(data.length / n);
  return Array.from({ length: n }, (_, i) => data.subarray(i * size, Math.min(data.length, (i + 1) * size)));
}

/**
 * The standard fake repos, from the real test models:
 * - ggml-org/models: tinyllamas/stories260K.gguf (as on the real Hub) and a small non-LFS README.md
 * - lmx-test/tiny-GGUF: one model in several quants (Q4_K_M = stories260K bytes; Q8_0 and F16 =
 *   llama-2-tiny-random bytes) plus a vision projector (mmproj-tiny-F16.gguf, the smallest file)
 * - lmx-test/no-preferred-GGUF: no Q4_K_M/Q4_0/Q8_0, so the default rule falls to the smallest
 * - lmx-test/sharded-GGUF: llama-2-tiny-random split in 3 (`tiny-Q8_0-0000N-of-00003.gguf`) and a
 *   single-file tiny-Q4_K_M.gguf
 * - lmx-test/gated-GGUF: gated; only GRANTED_TOKEN may download gated-Q4_K_M.gguf
 */
export async function defaultFakeRepos(modelsDir = testModelsDir()): Promise<FakeRepo[]> {
  const [stories, tiny, bge] = await Promise.all(
    ["stories260K.gguf", "llama-2-tiny-random.gguf", "ggml-vocab-bert-bge.gguf"].map((f) => readFile(path.join(modelsDir, f))),
  );
  const shards = splitBuffer(tiny, 3);
  return [
    {
      id: "ggml-org/models",
      files: [
        { path: "tinyllamas/stories260K.gguf", data: stories },
        { path: "README.md", data: Buffer.from("# ggml-org/models\n\nTest models.\n") },
      ],
    },
    {
      id: "lmx-test/tiny-GGUF",
      files: [
        { path: "tiny-Q4_K_M.gguf", data: stories },
        { path: "tiny-Q8_0.gguf", data: tiny },
        { path: "tiny-F16.gguf", data: tiny },
        { path: "mmproj-tiny-F16.gguf", data: bge },
      ],
    },
    {
      id: "lmx-test/no-preferred-GGUF",
      files: [
        { path: "x-Q5_K_M.gguf", data: tiny },
        { path: "x-Q3_K_S.gguf", data: stories },
        { path: "mmproj-x-F16.gguf", data: bge },
      ],
    },
    {
      id: "lmx-test/sharded-GGUF",
      files: [
        ...shards.map((data, i) => ({ path: `tiny-Q8_0-0000${i + 1}-of-00003.gguf`, data })),
        { path: "tiny-Q4_K_M.gguf", data: stories },
      ],
    },
    { id: "lmx-test/gated-GGUF", gated: true, files: [{ path: "gated-Q4_K_M.gguf", data: stories }] },
  ];
}

export async function startFakeHub(options: FakeHubOptions): Promise<FakeHub> {
  const secret = randomBytes(16).toString("hex");
  const granted = new Set(options.grantedTokens ?? [GRANTED_TOKEN]);
  const pageSize = options.treePageSize ?? 1000;
  const repos = new Map<string, StoredRepo>();
  for (const repo of options.repos) repos.set(repo.id, storeRepo(repo));
  const faults = new Map<string, Fault>();
  const requests: RecordedRequest[] = [];

  let hubUrl = "";
  let cdnUrl = "";

  function record(server: "hub" | "cdn", req: http.IncomingMessage, res: http.ServerResponse): RecordedRequest {
    const entry: RecordedRequest = {
      server,
      method: req.method ?? "GET",
      url: req.url ?? "/",
      file: null,
      range: req.headers.range ?? null,
      authorization: req.headers.authorization ?? null,
      status: 0,
      bytesSent: 0,
    };
    requests.push(entry);
    res.on("close", () => (entry.status = res.statusCode));
    return entry;
  }

  const hub = http.createServer((req, res) => {
    const entry = record("hub", req, res);
    try {
      handleHub(req, res, entry);
    } catch (err) {
      sendJson(res, 500, { error: String(err) });
    }
  });
  const cdn = http.createServer((req, res) => {
    const entry = record("cdn", req, res);
    try {
      handleCdn(req, res, entry);
    } catch (err) {
      sendJson(res, 500, { error: String(err) });
    }
  });

  function handleHub(req: http.IncomingMessage, res: http.ServerResponse, entry: RecordedRequest): void {
    const url = new URL(req.url ?? "/", hubUrl);
    const segs = url.pathname.split("/").slice(1).map(decodeURIComponent);

    if (segs[0] === "api" && segs[1] === "models") {
      const repo = repos.get(`${segs[2]}/${segs[3]}`);
      if (!repo) return hubError(res, 404, "RepoNotFound", "Repository not found");
      const action = segs[4];
      if (action === undefined || action === "revision") {
        const rev = segs[5] ?? "main";
        if (!revisionOk(repo, rev)) return hubError(res, 404, "RevisionNotFound", "Invalid rev id: " + rev);
        return sendJson(res, 200, {
          _id: createHash("md5").update(repo.id).digest("hex").slice(0, 24),
          id: repo.id,
          modelId: repo.id,
          sha: repo.commit,
          private: false,
          gated: repo.gated ? "manual" : false,
          disabled: false,
          downloads: 0,
          likes: 0,
          lastModified: "2024-01-01T00:00:00.000Z",
          pipeline_tag: "text-generation",
          library_name: "gguf",
          siblings: [...repo.files.keys()].map((rfilename) => ({ rfilename })),
        });
      }
      if (action === "tree") {
        const rev = segs[5] ?? "main";
        if (!revisionOk(repo, rev)) return hubError(res, 404, "RevisionNotFound", "Invalid rev id: " + rev);
        return sendTree(res, url, repo, segs.slice(6).join("/"));
      }
      return hubError(res, 404, null, "Not found");
    }

    if (segs[2] === "resolve" && segs.length >= 5) {
      const repo = repos.get(`${segs[0]}/${segs[1]}`);
      if (!repo) return hubError(res, 404, "RepoNotFound", "Repository not found");
      const rev = segs[3];
      const filePath = segs.slice(4).join("/");
      if (!revisionOk(repo, rev)) return hubError(res, 404, "RevisionNotFound", "Invalid rev id: " + rev);
      if (repo.gated) {
        const denied = checkGatedAccess(req.headers.authorization, repo.id);
        if (denied) return hubError(res, denied.status, denied.code, denied.message);
      }
      const file = repo.files.get(filePath);
      if (!file) return hubError(res, 404, "EntryNotFound", `${filePath} does not exist on "${rev}"`);
      const common = {
        "x-repo-commit": repo.commit,
        "x-linked-etag": `"${file.sha256}"`,
        "x-linked-size": String(file.data.length),
        etag: `"${file.lfs ? file.sha256 : file.gitOid}"`,
      };
      if (!file.lfs) {
        entry.file = file.path;
        return serveBytes(req, res, file, entry, common);
      }
      const expires = String(Date.now() + 3_600_000);
      const location = `${cdnUrl}/repos/${repo.id}/${file.sha256}?file=${encodeURIComponent(file.path)}&expires=${expires}&sig=${sign(repo.id, file.path, expires)}`;
      res.writeHead(302, { ...common, location, "content-length": "0" });
      res.end();
      return;
    }

    hubError(res, 404, null, "Not found");
  }

  function handleCdn(req: http.IncomingMessage, res: http.ServerResponse, entry: RecordedRequest): void {
    const url = new URL(req.url ?? "/", cdnUrl);
    const segs = url.pathname.split("/").slice(1).map(decodeURIComponent);
    if (req.headers.authorization) {
      res.writeHead(400, { "content-type": "application/xml" });
      res.end("<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed</Message></Error>");
      return;
    }
    const repo = segs[0] === "repos" ? repos.get(`${segs[1]}/${segs[2]}`) : undefined;
    const filePath = url.searchParams.get("file") ?? "";
    const expires = url.searchParams.get("expires") ?? "";
    const file = repo?.files.get(filePath);
    if (!repo || !file || file.sha256 !== segs[3] || url.searchParams.get("sig") !== sign(repo.id, filePath, expires) || Number(expires) < Date.now()) {
      res.writeHead(403, { "content-type": "application/xml" });
      res.end("<Error><Code>AccessDenied</Code></Error>");
      return;
    }
    entry.file = file.path;
    serveBytes(req, res, file, entry, { etag: `"${file.sha256}"` });
  }

  function checkGatedAccess(authorization: string | undefined, repoId: string): { status: number; code: string | null; message: string } | null {
    const token = /^Bearer (.+)$/.exec(authorization ?? "")?.[1];
    if (!token) return { status: 401, code: "GatedRepo", message: `Access to model ${repoId} is restricted. You must have access to it and be authenticated to access it. Please log in.` };
    if (!token.startsWith("hf_")) return { status: 401, code: null, message: "Invalid credentials in Authorization header" };
    if (!granted.has(token)) return { status: 403, code: "GatedRepo", message: `Access to model ${repoId} is restricted and you are not in the authorized list.` };
    return null;
  }

  function sendTree(res: http.ServerResponse, url: URL, repo: StoredRepo, prefix: string): void {
    const recursive = url.searchParams.get("recursive") === "true";
    const expand = url.searchParams.get("expand") === "true";
    const under = (p: string) => (prefix ? p.startsWith(prefix + "/") : true);
    const rel = (p: string) => (prefix ? p.slice(prefix.length + 1) : p);
    const dirs = new Set<string>();
    const entries: object[] = [];
    for (const file of [...repo.files.values()].sort((a, b) => a.path.localeCompare(b.path))) {
      if (!under(file.path)) continue;
      const parts = rel(file.path).split("/");
      for (let i = 1; i < parts.length; i++) {
        const dir = [prefix, ...parts.slice(0, i)].filter(Boolean).join("/");
        if (!dirs.has(dir) && (recursive || i === 1)) {
          dirs.add(dir);
          entries.push({ type: "directory", oid: createHash("sha1").update(dir).digest("hex"), size: 0, path: dir });
        }
      }
      if (!recursive && parts.length > 1) continue;
      entries.push({
        type: "file",
        oid: file.lfs ? createHash("sha1").update(lfsPointer(file)).digest("hex") : file.gitOid,
        size: file.data.length,
        path: file.path,
        ...(file.lfs ? { lfs: { oid: file.sha256, size: file.data.length, pointerSize: lfsPointer(file).length } } : {}),
        ...(expand ? { lastCommit: { id: repo.commit, title: "Upload", date: "2024-01-01T00:00:00.000Z" } } : {}),
      });
    }
    const cursor = Number(url.searchParams.get("cursor") ?? 0);
    const page = entries.slice(cursor, cursor + pageSize);
    const headers: http.OutgoingHttpHeaders = {};
    if (cursor + pageSize < entries.length) {
      const next = new URL(url);
      next.searchParams.set("cursor", String(cursor + pageSize));
      headers.link = `<${next.href}>; rel="next"`;
    }
    sendJson(res, 200, page, headers);
  }

  function serveBytes(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    file: StoredFile,
    entry: RecordedRequest,
    extraHeaders: http.OutgoingHttpHeaders,
  ): void {
    const total = file.data.length;
    let start = 0;
    let end = total - 1;
    let status = 200;
    const range = req.headers.range;
    if (range) {
      const m = /^bytes=(\d*)-(\d*)$/.exec(range);
      const from = m?.[1] ? Number(m[1]) : NaN;
      const to = m?.[2] ? Number(m[2]) : NaN;
      if (m && m[1] === "" && m[2] !== "") {
        start = Math.max(0, total - to); // suffix range: last N bytes
      } else if (m && !Number.isNaN(from)) {
        start = from;
        if (!Number.isNaN(to)) end = Math.min(to, total - 1);
      }
      if (!m || start >= total || start > end) {
        res.writeHead(416, { "content-range": `bytes */${total}`, ...extraHeaders });
        res.end();
        return;
      }
      status = 206;
    }
    const headers: http.OutgoingHttpHeaders = {
      ...extraHeaders,
      "content-type": "application/octet-stream",
      "content-length": String(end - start + 1),
      "accept-ranges": "bytes",
      ...(status === 206 ? { "content-range": `bytes ${start}-${end}/${total}` } : {}),
    };
    res.writeHead(status, headers);
    if (req.method === "HEAD") {
      res.end();
      return;
    }

    let body = file.data.subarray(start, end + 1);
    const fault = takeFault(file.path);
    if (fault?.corruptAt !== undefined && fault.corruptAt >= start && fault.corruptAt <= end) {
      body = Buffer.from(body);
      body[fault.corruptAt - start] ^= 0xff;
    }
    const cut = fault?.dropAfterBytes ?? fault?.stallAfterBytes;
    const limit = cut !== undefined ? Math.min(cut, body.length) : body.length;
    const short = limit < body.length;
    const toSend = body.subarray(0, limit);
    const finish = () => {
      if (short && fault?.stallAfterBytes !== undefined) {
        // Leave the response hanging; the socket is destroyed when the client gives up or at close().
      } else if (short) {
        // Cut the connection mid-body, as a network failure would. A moment later, not at once: a
        // client's fetch discards bytes it has buffered but not yet read when the stream errors, and
        // on a real network the connection dies long after the bytes before it were read.
        setTimeout(() => res.socket?.destroy(), 50);
      } else res.end();
    };

    if (!fault?.bytesPerSecond) {
      entry.bytesSent += toSend.length;
      if (toSend.length === 0) return finish();
      res.write(toSend, () => finish());
      return;
    }
    const tickMs = 50;
    const perTick = Math.max(1, Math.floor((fault.bytesPerSecond * tickMs) / 1000));
    let sent = 0;
    let closed = false;
    res.on("close", () => (closed = true));
    const tick = () => {
      if (closed) return;
      if (sent >= toSend.length) return finish();
      const chunk = toSend.subarray(sent, sent + perTick);
      sent += chunk.length;
      entry.bytesSent += chunk.length;
      res.write(chunk, () => setTimeout(tick, tickMs));
    };
    tick();
  }

  function takeFault(filePath: string): Fault | undefined {
    const fault = faults.get(filePath);
    if (!fault) return undefined;
    if (fault.times !== undefined) {
      if (fault.times <= 1) faults.delete(filePath);
      else faults.set(filePath, { ...fault, times: fault.times - 1 });
    }
    return fault;
  }

  function sign(repoId: string, filePath: string, expires: string): string {
    return createHmac("sha256", secret).update(`${repoId}\0${filePath}\0${expires}`).digest("hex");
  }

  await Promise.all([listen(hub), listen(cdn)]);
  hubUrl = `http://127.0.0.1:${(hub.address() as AddressInfo).port}`;
  cdnUrl = `http://127.0.0.1:${(cdn.address() as AddressInfo).port}`;

  return {
    url: hubUrl,
    cdnUrl,
    requests,
    setFault(filePath, fault) {
      if (fault) faults.set(filePath, { ...fault });
      else faults.delete(filePath);
    },
    reset() {
      faults.clear();
      requests.length = 0;
    },
    fileRequests(filePath) {
      return requests.filter((r) => r.file === filePath);
    },
    commitOf(repoId) {
      const repo = repos.get(repoId);
      if (!repo) throw new Error(`no fake repo ${repoId}`);
      return repo.commit;
    },
    async close() {
      for (const server of [hub, cdn]) server.closeAllConnections();
      await Promise.all([hub, cdn].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}

function storeRepo(repo: FakeRepo): StoredRepo {
  const files = new Map<string, StoredFile>();
  for (const f of repo.files) {
    files.set(f.path, {
      repoId: repo.id,
      path: f.path,
      data: f.data,
      lfs: f.lfs ?? /\.gguf$/i.test(f.path),
      sha256: createHash("sha256").update(f.data).digest("hex"),
      gitOid: createHash("sha1").update(`blob ${f.data.length}\0`).update(f.data).digest("hex"),
    });
  }
  // A deterministic fake commit sha, so tests can predict it.
  const commit = createHash("sha1").update(`commit:${repo.id}`).digest("hex");
  return { id: repo.id, gated: repo.gated ?? false, commit, files };
}

function revisionOk(repo: StoredRepo, rev: string): boolean {
  return rev === "main" || rev === repo.commit;
}

function lfsPointer(file: StoredFile): string {
  return `version https://git-lfs.github.com/spec/v1\noid sha256:${file.sha256}\nsize ${file.data.length}\n`;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: http.OutgoingHttpHeaders = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function hubError(res: http.ServerResponse, status: number, code: string | null, message: string): void {
  sendJson(res, status, { error: message }, { ...(code ? { "x-error-code": code } : {}), "x-error-message": message });
}

function listen(server: http.Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
}
