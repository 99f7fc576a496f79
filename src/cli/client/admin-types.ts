/**
 * The parts of the admin API's answers the CLI reads (see src/server/routes/admin). Declared here
 * rather than imported from the routes so the CLI does not pull the server in; only JSON crosses.
 */
export type { DownloadJob } from "../../models/hub/index.js";

/** A loaded model: GET /admin/status → models[], POST /admin/models/load. */
export interface LoadedModelStatus {
  id: string;
  state: string;
  pid: number | null;
  path: string;
  architecture: string;
  parallel: number;
  context_size: number;
  threads: number;
  gpu_layers: unknown;
  size_bytes: number;
  memory_bytes: number | null;
  in_flight: number;
  queued: number;
  pinned: boolean;
  keep_alive_ms: number | null;
  expires_at: string | null;
  loaded_at: string;
  last_used_at: string;
}

export interface ServerStatus {
  version: string;
  uptime_s: number;
  pid: number;
  listening: { host: string; port: number };
  models_dir: string;
  models: LoadedModelStatus[];
  loading: number;
  in_flight: number;
  queued: number;
}
