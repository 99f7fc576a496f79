/**
 * The Hub's HTTP API, as much of it as downloading needs. Listing and revision lookup go through
 * `@huggingface/hub` (it knows the URL shapes and the tree API's pagination); file bytes are fetched
 * here directly, because resuming needs Range requests and redirects must be followed by hand (below).
 *
 * Every Hub error response becomes an LmxError in `errorFromResponse`, the one place that reads the
 * Hub's X-Error-Code header.
 */
import type { LmxError } from "../../errors.js";
import type { ResolvedHubConfig } from "./config.js";
import {
  fileNotFound,
  gatedRepo,
  hubError,
  networkError,
  repoNotFound,
  revisionNotFound,
  unauthorized,
} from "./errors.js";
import type { RemoteFile } from "./select-files.js";

export interface HubClient {
  readonly endpoint: string;
  /** The commit sha `revision` points at (null if the Hub does not say), so all files come from one commit. */
  resolveCommit(repoId: string, revision: string, signal: AbortSignal): Promise<string | null>;
  /** Every file in the repo at `revision`, recursively. */
  listFiles(repoId: string, revision: string, signal: AbortSignal): Promise<RemoteFile[]>;
  /**
   * GET the file's bytes from `offset`: a 200 (whole file), a 206 (from offset), or a 416 (offset past
   * the end); any other status becomes an LmxError.
   */
  openFile(repoId: string, revision: string, path: string, options: { offset: number; signal: AbortSignal }): Promise<Response>;
}

interface ErrorContext {
  repoId: string;
  revision: string;
  path?: string;
}

const MAX_REDIRECTS = 10;

export function createHubClient(config: Pick<ResolvedHubConfig, "endpoint" | "token" | "fetch">): HubClient {
  const { endpoint, token } = config;
  const hubOrigin = new URL(endpoint).origin;

  /** The token goes to the Hub only, never to the CDN or storage host it redirects to. */
  function authHeaders(url: URL): Record<string, string> {
    return token && url.origin === hubOrigin ? { authorization: `Bearer ${token}` } : {};
  }

  async function send(url: URL, init: RequestInit, signal: AbortSignal): Promise<Response> {
    try {
      return await config.fetch(url, { ...init, signal });
    } catch (err) {
      if (signal.aborted) throw err;
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
      throw networkError(`Could not reach ${url.host}: ${cause}`, err);
    }
  }

  /**
   * A fetch for `@huggingface/hub` to call: adds the token (the library would insist on an `hf_`
   * prefix, which mirrors' tokens may lack), the AbortSignal (its functions take none), and turns
   * error responses into LmxErrors before the library's generic error loses the X-Error-Code.
   */
  function libraryFetch(context: ErrorContext, signal: AbortSignal): typeof fetch {
    return async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : input.toString());
      const headers = new Headers(init?.headers);
      for (const [k, v] of Object.entries(authHeaders(url))) headers.set(k, v);
      const res = await send(url, { ...init, headers }, signal);
      if (!res.ok) throw await errorFromResponse(res, context, token !== undefined);
      return res;
    };
  }

  return {
    endpoint,

    async resolveCommit(repoId, revision, signal) {
      const { modelInfo } = await hubLibrary();
      const info = await modelInfo({
        name: repoId,
        revision,
        hubUrl: endpoint,
        additionalFields: ["sha"],
        fetch: libraryFetch({ repoId, revision }, signal),
      });
      return typeof info.sha === "string" && info.sha.length > 0 ? info.sha : null;
    },

    async listFiles(repoId, revision, signal) {
      const files: RemoteFile[] = [];
      // expand=false: the plain tree listing already carries `lfs.oid` (the sha256) and size, and
      // expanding (last commit per file) is slower on the Hub and pages 50 entries at a time, not 1000.
      const { listFiles } = await hubLibrary();
      for await (const entry of listFiles({
        repo: { type: "model", name: repoId },
        revision,
        recursive: true,
        hubUrl: endpoint,
        fetch: libraryFetch({ repoId, revision }, signal),
      })) {
        if (entry.type !== "file") continue;
        files.push({
          path: entry.path,
          size: entry.lfs?.size ?? entry.size,
          sha256: entry.lfs?.oid ?? null,
          gitOid: entry.oid ?? "",
        });
      }
      return files;
    },

    async openFile(repoId, revision, path, { offset, signal }) {
      const context = { repoId, revision, path };
      let url = new URL(`${endpoint}/${repoId}/resolve/${encodeURIComponent(revision)}/${path.split("/").map(encodeURIComponent).join("/")}`);
      // Redirects are followed by hand so the token is dropped when leaving the Hub: the Hub answers
      // LFS files with a 302 to a CDN or storage URL that is already signed, and S3-style storage
      // rejects a request carrying both a signature and an Authorization header.
      for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
        const headers: Record<string, string> = {
          ...authHeaders(url),
          // Ranges count bytes of the stored file; a compressed response would break resuming.
          "accept-encoding": "identity",
        };
        if (offset > 0) headers.range = `bytes=${offset}-`;
        const res = await send(url, { headers, redirect: "manual" }, signal);
        const location = res.headers.get("location");
        if (res.status >= 300 && res.status < 400 && location) {
          await res.body?.cancel();
          url = new URL(location, url);
          continue;
        }
        if (!res.ok && !(res.status === 416 && offset > 0)) throw await errorFromResponse(res, context, token !== undefined);
        return res;
      }
      throw hubError(502, `Too many redirects fetching '${path}' from '${repoId}'.`);
    },
  };
}

/** Maps a Hub error response to an LmxError; X-Error-Code tells repo, revision and file apart. */
export async function errorFromResponse(res: Response, context: ErrorContext, hasToken: boolean): Promise<LmxError> {
  const code = res.headers.get("x-error-code");
  const detail = res.headers.get("x-error-message") ?? (await bodyMessage(res));
  const { repoId, revision, path } = context;
  switch (code) {
    case "RepoNotFound":
      return repoNotFound(repoId, hasToken ? "" : " If it is private, set HF_TOKEN.");
    case "RevisionNotFound":
      return revisionNotFound(repoId, revision);
    case "EntryNotFound":
      return fileNotFound(`File '${path ?? ""}' was not found in '${repoId}' at revision '${revision}'.`);
    case "GatedRepo":
      return gatedRepo(repoId, res.status === 403 ? 403 : 401, hasToken);
  }
  if (res.status === 401) {
    // Without a token the Hub answers 401 alike for private, gated and missing repos.
    return unauthorized(
      401,
      hasToken
        ? `The Hub rejected the token for '${repoId}'${detail ? `: ${detail}` : "."}`
        : `The Hub requires authentication for '${repoId}' (private, gated or missing): set HF_TOKEN.`,
    );
  }
  if (res.status === 403) return unauthorized(403, `Access to '${repoId}' is forbidden${detail ? `: ${detail}` : "."}`);
  if (res.status === 404) {
    return path === undefined ? repoNotFound(repoId) : fileNotFound(`File '${path}' was not found in '${repoId}'.`);
  }
  const retryAfter = Number(res.headers.get("retry-after")) || undefined;
  return hubError(res.status, `The Hub answered ${res.status} for '${repoId}'${detail ? `: ${detail}` : "."}`, retryAfter);
}

async function bodyMessage(res: Response): Promise<string> {
  try {
    const text = (await res.text()).slice(0, 2000);
    try {
      const json: unknown = JSON.parse(text);
      if (json && typeof json === "object" && "error" in json && typeof json.error === "string") return json.error;
    } catch {
      // not JSON: use the text itself
    }
    return text.trim().slice(0, 200);
  } catch {
    return "";
  }
}

/** @huggingface/hub, loaded when the Hub is first asked something (not at every server start). */
const hubLibrary = () => import("@huggingface/hub");
