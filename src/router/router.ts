import type { KeepAlive } from "../config/duration.js";
import type { ModelSettings } from "../config/schema.js";
import { modelNotFound } from "../errors.js";
import type { LoadedModel } from "../engine/loaded-model.js";
import type { ModelManager } from "../models/lifecycle.js";
import { presetAliases, type Preset } from "../models/presets.js";
import type { ModelRegistry } from "../models/registry.js";

/**
 * Turns the `model` a request names into a loaded model:
 *   - `preset:NAME`, or an alias a preset declares → the preset's model, with its defaults;
 *   - an alias (`auto`, `chat`, `code`, `reasoning`, or any configured name) → its preference list:
 *     the first model already loaded and ready wins, else the first one on disk (loaded just in time);
 *   - anything else → that model id (or a .gguf path), loaded just in time when allowed.
 * `auto` and `chat` with no configured list fall back to any ready model, then any model on disk.
 */
export interface Resolution {
  model: LoadedModel;
  preset: Preset | null;
  /** The name the request used, when it was an alias or preset. */
  via: string | null;
}

export interface RouterDeps {
  models: ModelManager;
  registry: ModelRegistry;
  aliases: () => Record<string, string[]>;
  presets: () => Map<string, Preset>;
}

const fallbackAliases = new Set(["auto", "chat", "code", "reasoning"]);

export class ModelRouter {
  constructor(private readonly deps: RouterDeps) {}

  async resolve(name: string, options: { keepAlive?: KeepAlive; signal?: AbortSignal; overrides?: ModelSettings } = {}): Promise<Resolution> {
    const preset = this.findPreset(name);
    if (preset) {
      const inner = await this.resolve(preset.model, { ...options, overrides: preset.load ?? options.overrides });
      return { model: inner.model, preset, via: name };
    }
    const candidates = this.deps.aliases()[name];
    if (candidates || fallbackAliases.has(name)) {
      const model = await this.pick(name, candidates ?? [], options);
      return { model, preset: null, via: name };
    }
    return { model: await this.deps.models.use(name, options), preset: null, via: null };
  }

  /** Every alias and what it maps to, for the admin API. */
  describeAliases(): Record<string, string[]> {
    const out: Record<string, string[]> = { ...this.deps.aliases() };
    for (const preset of this.deps.presets().values()) {
      for (const alias of presetAliases(preset)) out[alias] ??= [`preset:${preset.name}`];
    }
    return out;
  }

  private findPreset(name: string): Preset | undefined {
    const presets = this.deps.presets();
    if (name.startsWith("preset:")) {
      const preset = presets.get(name.slice("preset:".length));
      if (!preset) throw modelNotFound(name);
      return preset;
    }
    if (this.deps.aliases()[name]) return undefined;
    for (const preset of presets.values()) if (presetAliases(preset).includes(name)) return preset;
    return undefined;
  }

  private async pick(alias: string, candidates: string[], options: { keepAlive?: KeepAlive; signal?: AbortSignal }): Promise<LoadedModel> {
    for (const candidate of candidates) {
      const loaded = this.deps.models.get(candidate);
      if (loaded && loaded.state === "ready") return loaded;
    }
    for (const candidate of candidates) {
      if (candidate.startsWith("preset:") || this.deps.presets().has(candidate)) {
        return (await this.resolve(candidate.startsWith("preset:") ? candidate : `preset:${candidate}`, options)).model;
      }
      if (this.deps.registry.find(candidate)) return this.deps.models.use(candidate, options);
    }
    if (candidates.length === 0) {
      const ready = this.deps.models.list().find((model) => model.state === "ready");
      if (ready) return ready;
      const onDisk = this.deps.registry.list()[0];
      if (onDisk) return this.deps.models.use(onDisk.id, options);
    }
    throw modelNotFound(alias);
  }
}
