import { physicalCores } from "../threads.js";

/**
 * How often (ms) a runner sends a streaming generation's tokens to the API process, after the first
 * token (which always goes out at once). Each batch wakes the API process and the client. When the
 * model decodes on the CPU with a thread on every core, those wake-ups take a core from a decoding
 * thread, and llama.cpp's threads wait for each other at every step, so each one stalls them all:
 * then batches are sent less often. Otherwise (a core left free, or a GPU doing the work) the
 * wake-ups cost the model nothing and tokens flow more smoothly.
 *
 * Measured on 2 cores (58M model, 2 threads, single stream, LMX through HTTP ÷ llama-server, wall time
 * of 24 requests alternated with llama-server's): 0.87 at 0 ms, 0.93 at 30 ms, 0.90-0.96 at 60 ms,
 * 1.00-1.03 at 100 ms, 1.06 at 200 ms. stories260K with 1 thread on 2 cores (a core left free): HTTP ÷
 * in-process 1.00 at 30 ms and 0.99-1.03 at 100 ms.
 */
export const streamIntervals = { allCoresDecoding: 100, coresToSpare: 30 } as const;

export interface StreamIntervalFacts {
  /** The model runs on a GPU backend with layers offloaded. */
  onGpu: boolean;
  /** Evaluation threads configured for the model. */
  threads: number;
  /** Physical cores of the machine. */
  cores?: number;
}

/** The interval for a setting of "auto" or a number of milliseconds (kept as given). */
export function resolveStreamInterval(setting: number | "auto", facts: StreamIntervalFacts): number {
  if (setting !== "auto") return setting;
  const cores = facts.cores ?? physicalCores();
  return !facts.onGpu && facts.threads >= cores ? streamIntervals.allCoresDecoding : streamIntervals.coresToSpare;
}
