/**
 * `npm run bench [-- suite...]`: runs the benchmark suites and writes their results as JSON to
 * bench/results/<suite>.json (plus a dated copy). Figures are medians of several runs: this is a
 * noisy machine's honest measure, not a test.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { benchEngineSpeed } from "./engine-speed.js";
import { benchPrefillFairness } from "./prefill-fairness.js";
import { benchPrefixCache } from "./prefix-cache.js";
import { benchReflex } from "./reflex.js";
import { benchServing } from "./serving.js";
import { benchSpeculative } from "./speculative.js";
import { benchSweep } from "./sweep.js";
import { relaunchWithOneUvThread } from "./lib/one-uv-thread.js";
import { repoRoot } from "./lib/server-process.js";

relaunchWithOneUvThread();

type Suite = () => Promise<unknown>;

const suites: Record<string, Suite> = {
  // Server overhead: HTTP against the engine called directly, time to first token, start-up.
  serving: () => benchServing(),
  // Engine speed against llama.cpp's own server (set LMX_LLAMA_SERVER; scripts/build-llama-server.sh).
  "engine-speed": () => benchEngineSpeed(),
  // Serving performance: concurrency sweep (also writes sweep.svg), prefix cache, prefill fairness,
  // speculative decoding.
  sweep: () => benchSweep(),
  "prefix-cache": () => benchPrefixCache(),
  "prefill-fairness": () => benchPrefillFairness(),
  speculative: () => benchSpeculative(),
  // The reflex layer's detectors: microseconds per request by size.
  reflex: () => benchReflex(),
};

const requested = process.argv.slice(2).filter((arg) => !arg.startsWith("-"));
const names = requested.length > 0 ? requested : Object.keys(suites);
const unknown = names.filter((name) => !(name in suites));
if (unknown.length > 0) {
  console.error(`Unknown suite(s): ${unknown.join(", ")}. Known: ${Object.keys(suites).join(", ")}`);
  process.exit(2);
}

const dir = join(repoRoot, "bench", "results");
mkdirSync(dir, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, "-");
for (const name of names) {
  console.error(`bench: ${name}…`);
  const started = performance.now();
  const result = { suite: name, date: new Date().toISOString(), duration_s: 0, result: await suites[name]() };
  result.duration_s = Math.round((performance.now() - started) / 100) / 10;
  const json = JSON.stringify(result, null, 2);
  writeFileSync(join(dir, `${name}.json`), json + "\n");
  writeFileSync(join(dir, `${name}-${stamp}.json`), json + "\n");
  console.log(json);
}
