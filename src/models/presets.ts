import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseYaml } from "../config/yaml.js";
import { z } from "zod";
import { modelSettingsSchema } from "../config/schema.js";

/**
 * Presets: a named model with default parameters, a system prompt and aliases. A request names one
 * as `preset:NAME` (or by one of its aliases); what the request sets itself still wins.
 */
export const presetSchema = z
  .object({
    name: z.string().regex(/^[\w.-]+$/, "letters, digits, '_', '.', '-'"),
    model: z.string().min(1),
    description: z.string().optional(),
    alias: z.union([z.string().min(1), z.array(z.string().min(1))]).optional(),
    system_prompt: z.string().optional(),
    parameters: z
      .object({
        temperature: z.number().min(0).max(2).optional(),
        top_p: z.number().min(0).max(1).optional(),
        top_k: z.number().int().min(0).optional(),
        min_p: z.number().min(0).max(1).optional(),
        repeat_penalty: z.number().min(0).optional(),
        frequency_penalty: z.number().min(-2).max(2).optional(),
        presence_penalty: z.number().min(-2).max(2).optional(),
        max_tokens: z.number().int().positive().optional(),
        seed: z.number().int().optional(),
        stop: z.array(z.string()).optional(),
      })
      .strict()
      .default({}),
    /**
     * Load settings for the model when a request through this preset loads it (just in time), e.g.
     * `speculative`, `prefix_cache`, `parallel`, `context_size`. A model already loaded keeps its own.
     */
    load: modelSettingsSchema.optional(),
  })
  .strict();

export type Preset = z.infer<typeof presetSchema>;

export interface PresetLoadResult {
  presets: Map<string, Preset>;
  errors: string[];
}

/** Presets from config and from `*.yaml` files in the presets directory (a file holds one preset or a list). */
export function loadPresets(inline: unknown[], dir: string | null): PresetLoadResult {
  const presets = new Map<string, Preset>();
  const errors: string[] = [];
  const add = (raw: unknown, source: string) => {
    const parsed = presetSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      errors.push(`${source}: ${issue.path.join(".") || "(preset)"}: ${issue.message}`);
      return;
    }
    if (presets.has(parsed.data.name)) errors.push(`${source}: preset '${parsed.data.name}' is defined twice; the later one wins`);
    presets.set(parsed.data.name, parsed.data);
  };
  inline.forEach((raw, index) => add(raw, `config presets[${index}]`));
  if (dir && existsSync(dir)) {
    for (const file of readdirSync(dir).filter((name) => /\.ya?ml$/i.test(name)).sort()) {
      const path = join(dir, file);
      try {
        const content = parseYaml(readFileSync(path, "utf8")) as unknown;
        for (const raw of Array.isArray(content) ? content : [content]) add(raw, path);
      } catch (err) {
        errors.push(`${path}: ${(err as Error).message}`);
      }
    }
  }
  return { presets, errors };
}

export function presetAliases(preset: Preset): string[] {
  if (!preset.alias) return [];
  return Array.isArray(preset.alias) ? preset.alias : [preset.alias];
}
