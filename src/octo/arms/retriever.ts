/**
 * The retriever arm: searches the knowledge collections (retriever/) and answers from the passages it
 * found, citing them as [n]. Without a working embedding model it falls back to keyword (FTS) search
 * rather than failing.
 */
import { z } from "zod";
import { isLmxError } from "../../errors.js";
import type { Citation, Retriever } from "../retriever/index.js";
import { queryModeSchema } from "../retriever/schemas.js";
import { clip } from "./prompt.js";
import { inputJsonSchema, type Arm, type ArmDescriptor } from "./types.js";

export const retrieverArmInput = z.object({
  query: z.string().min(1).max(8192),
  /** Collections by id or name; default: all of them. */
  collections: z.array(z.string().min(1)).max(50).optional(),
  top_k: z.number().int().min(1).max(20).default(5),
  mode: queryModeSchema.default("hybrid"),
  /** Write an answer from the passages (else only the passages are returned). */
  answer: z.boolean().default(true),
});
export type RetrieverArmInput = z.output<typeof retrieverArmInput>;

export interface RetrievedPassage {
  /** The [n] the answer cites it by. */
  ref: number;
  collection: string;
  text: string;
  score: number;
  citation: Citation;
}

export interface RetrieverArmOutput {
  answer: string | null;
  passages: RetrievedPassage[];
  /** The search mode actually used ("fts" when embeddings were unavailable). */
  mode: string;
  notes: string[];
}

export function createRetrieverArm(deps: { retriever(): Retriever; model(): { model: string; upstream: string | null } }): Arm<RetrieverArmInput, RetrieverArmOutput> {
  return {
    id: "retriever",
    input: retrieverArmInput,
    async describe(): Promise<ArmDescriptor> {
      const target = deps.model();
      const collections = deps.retriever().listCollections();
      return {
        id: "retriever",
        description: `Searches the knowledge collections (${collections.map((c) => c.name).join(", ") || "none yet"}) and answers from what it finds, with citations.`,
        input_schema: inputJsonSchema(retrieverArmInput),
        output_schema: {
          type: "object",
          properties: {
            answer: { type: ["string", "null"] },
            passages: { type: "array", items: { type: "object", properties: { ref: { type: "integer" }, collection: { type: "string" }, text: { type: "string" }, score: { type: "number" }, citation: { type: "object" } } } },
            mode: { type: "string" },
            notes: { type: "array", items: { type: "string" } },
          },
          required: ["answer", "passages", "mode", "notes"],
        },
        cost_tier: "low",
        model: target.model,
        upstream: target.upstream,
        plannable: collections.length > 0,
        available: true,
      };
    },

    fromStep({ step }) {
      return { query: step.action.slice(0, 8192), top_k: 5, mode: "hybrid", answer: true };
    },

    async run(input, ctx) {
      const retriever = deps.retriever();
      const names = input.collections ?? retriever.listCollections().map((c) => c.id);
      const notes: string[] = [];
      let mode = input.mode;
      const found: Array<Omit<RetrievedPassage, "ref">> = [];
      for (const name of names) {
        const info = retriever.getCollection(name);
        let response;
        try {
          response = await retriever.query(info.id, { query: input.query, top_k: input.top_k, mode }, ctx.signal);
        } catch (err) {
          // No embedding model (or another one than the collection's): keywords still find things.
          if (mode !== "fts" && isLmxError(err) && !ctx.signal.aborted && (err.status === 404 || err.code === "embedding_model_mismatch" || err.status === 503)) {
            notes.push(`vector search unavailable for '${info.name}' (${err.message}); used keyword search`);
            response = await retriever.query(info.id, { query: input.query, top_k: input.top_k, mode: "fts" }, ctx.signal);
            if (names.length === 1) mode = "fts";
          } else {
            throw err;
          }
        }
        for (const r of response.results) found.push({ collection: info.name, text: r.text, score: r.score, citation: r.citation });
      }
      // Scores of one mode are comparable across collections; keep the best top_k overall.
      const passages = found.sort((a, b) => b.score - a.score).slice(0, input.top_k).map((p, i) => ({ ...p, ref: i + 1 }));
      if (names.length === 0) notes.push("there are no collections to search");

      let answer: string | null = null;
      let truncated = false;
      if (input.answer) {
        if (passages.length === 0) {
          answer = "No passages in the knowledge collections match the question.";
        } else {
          const each = Math.floor(ctx.promptChars / (passages.length + 1));
          const response = await ctx.chat({
            messages: [
              { role: "system", content: "Answer the question only from the numbered passages. Cite the passages you use as [1], [2]. If they do not contain the answer, say so." },
              { role: "user", content: `Question: ${input.query}\n\n${passages.map((p) => `[${p.ref}] (${p.citation.source ?? p.collection})\n${clip(p.text, each)}`).join("\n\n")}` },
            ],
          });
          answer = response.text.trim();
          truncated = response.finishReason === "length";
        }
      }
      const sources = passages.map((p) => `[${p.ref}] ${p.citation.source ?? p.collection}${p.citation.heading ? ` > ${p.citation.heading}` : ""} (chunk ${p.citation.chunk_index})`);
      return {
        output: { answer, passages, mode, notes },
        text: `${answer ?? passages.map((p) => `[${p.ref}] ${p.text}`).join("\n\n")}${sources.length ? `\n\nSources:\n${sources.join("\n")}` : ""}`,
        truncated,
        problems: passages.length === 0 ? ["No passages were found for the question."] : [],
      };
    },
  };
}
