/**
 * Regenerates the corpus files from the generators (deterministic):
 *   npx tsx test/reflex/corpus/generate.ts
 * The JSONL files are checked in so that the corpus is reviewable as data.
 */
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { injectionCorpus } from "./injection-corpus.js";
import { piiCorpus } from "./pii-corpus.js";

const here = dirname(fileURLToPath(import.meta.url));
const jsonl = (rows: unknown[]) => rows.map((r) => JSON.stringify(r)).join("\n") + "\n";
writeFileSync(join(here, "pii.jsonl"), jsonl(piiCorpus()));
writeFileSync(join(here, "injection.jsonl"), jsonl(injectionCorpus()));
console.log("wrote pii.jsonl and injection.jsonl");
