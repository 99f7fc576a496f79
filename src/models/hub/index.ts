/**
 * Downloading GGUF models from the Hugging Face Hub (or a mirror).
 *
 * - Admin API: `createDownloadManager(config)` → start / get / list / cancel / on(event).
 * - CLI: `parsePullSpec("org/repo:Q4_K_M")` then `pullWithProgressBar(manager, request)`.
 * - The engine underneath: `createHubDownloader(config)` → plan / download / pull.
 */
export { type HubConfig, type StatfsFn, type StatfsResult, DEFAULT_HUB_ENDPOINT } from "./config.js";
export {
  type DownloadRequest,
  downloadRequestSchema,
  parseDownloadRequest,
  parsePullSpec,
} from "./request.js";
export {
  type DownloadPlan,
  type DownloadProgress,
  type DownloadResult,
  type DownloadOptions,
  type HubDownloader,
  createHubDownloader,
} from "./downloader.js";
export {
  type CancelOptions,
  type DownloadEventMap,
  type DownloadEventName,
  type DownloadJob,
  type DownloadJobError,
  type DownloadManager,
  type DownloadManagerConfig,
  type DownloadStatus,
  createDownloadManager,
} from "./download-manager.js";
export { createDownloadProgressBar, pullWithProgressBar, type DownloadProgressBar } from "./cli-progress-bar.js";
export { MANIFEST_FILE, readManifest, type ManifestModel, type RepoManifest } from "./manifest.js";
export { DEFAULT_QUANT_PREFERENCE, selectModels, type RemoteFile } from "./select-files.js";
