import type {
  EmbedRequest,
  EmbedResult,
  EngineErrorData,
  GenerateEvent,
  GenerateRequest,
  GenerateResult,
  LoadOptions,
  ModelInfo,
  RunnerStats,
} from "../types.js";

/**
 * The typed protocol between the API process and a runner child (one per loaded model), carried over
 * Node's IPC channel. Requests carry an id; a generation answers with batches of events and then one
 * result or error for that id. One `events` message carries the pending events of every generation
 * (one write, one wake-up of the API process for all of them), and a result carries its generation's
 * last events.
 */
export type ToRunner =
  | { t: "load"; options: LoadOptions }
  | { t: "generate"; id: number; request: GenerateRequest }
  | { t: "embed"; id: number; request: EmbedRequest }
  | { t: "tokenize"; id: number; text: string }
  | { t: "stats"; id: number }
  | { t: "abort"; id: number }
  | { t: "shutdown" };

export type FromRunner =
  | { t: "loaded"; info: ModelInfo }
  | { t: "load_failed"; error: EngineErrorData }
  | { t: "events"; batches: Array<{ id: number; events: GenerateEvent[] }> }
  | { t: "result"; id: number; value: GenerateResult | EmbedResult | number[] | RunnerStats; events?: GenerateEvent[] }
  | { t: "error"; id: number; error: EngineErrorData }
  | { t: "log"; level: "debug" | "info" | "warn" | "error"; message: string };
