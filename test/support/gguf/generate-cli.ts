// Command line for generated models, for benchmarks and the concurrency test:
//   npx tsx test/support/gguf/generate-cli.ts benchEngineBound
//   npx tsx test/support/gguf/generate-cli.ts '{"vocab":"llama-spm","dim":64,"layers":2,"heads":4}'
// Prints one JSON line: { path, params, bytes, seconds }.
import { stat } from "node:fs/promises";
import { generateModel, modelParams, presets, type GeneratedModelSpec } from "../models.js";

const arg = process.argv[2];
if (!arg) {
  console.error(`usage: generate-cli.ts <${Object.keys(presets).join("|")}|spec-json>`);
  process.exit(2);
}
const spec: GeneratedModelSpec = arg in presets ? presets[arg as keyof typeof presets] : (JSON.parse(arg) as GeneratedModelSpec);
const started = performance.now();
const path = await generateModel(spec);
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ path, params: modelParams(spec), bytes: (await stat(path)).size, seconds: Number(seconds.toFixed(2)) }));
