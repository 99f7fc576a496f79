/**
 * Which model each arm calls: its configured alias through the local engine, or the model of an
 * OpenAI-compatible upstream (behind the guardian, since prompts sent there leave the machine).
 * Upstream clients are built on first use and rebuilt when their config changes (config reload).
 */
import { invalidRequest } from "../../errors.js";
import type { OctoConfig } from "../config.js";
import type { OctoLlm } from "../llm.js";
import type { ModelArmId } from "../arms/types.js";
import { createUpstreamLlm } from "./upstream.js";

export interface ArmTarget {
  llm: OctoLlm;
  model: string;
  upstream: string | null;
  maxTokens: number;
  temperature: number;
}

export interface ModelGateway {
  target(arm: ModelArmId): ArmTarget;
  /** The local engine (embeddings, and arms without an upstream). */
  readonly engine: OctoLlm;
}

export function createModelGateway(deps: { config: () => OctoConfig; engine: OctoLlm; guard: (llm: OctoLlm) => OctoLlm }): ModelGateway {
  const upstreams = new Map<string, { key: string; llm: OctoLlm }>();
  return {
    engine: deps.engine,
    target(arm) {
      const config = deps.config();
      const settings = config.arms[arm];
      let llm = deps.engine;
      if (settings.upstream) {
        const upstream = config.upstreams[settings.upstream];
        if (!upstream) {
          throw invalidRequest(`octo.arms.${arm}.upstream names '${settings.upstream}', which is not in octo.upstreams.`, `octo.arms.${arm}.upstream`, "unknown_upstream");
        }
        const key = JSON.stringify(upstream);
        let cached = upstreams.get(settings.upstream);
        if (!cached || cached.key !== key) {
          cached = { key, llm: deps.guard(createUpstreamLlm({ url: upstream.url, apiKey: upstream.api_key, timeoutMs: upstream.timeout_ms })) };
          upstreams.set(settings.upstream, cached);
        }
        llm = cached.llm;
      }
      return { llm, model: settings.model, upstream: settings.upstream, maxTokens: settings.max_tokens, temperature: settings.temperature };
    },
  };
}
