import type { LlamaModel, Token } from "node-llama-cpp";
import type { SamplingParams, TokenLogprob, TopLogprob } from "../types.js";

/**
 * Logprobs as OpenAI reports them: the model's own distribution, before temperature and truncation.
 * node-llama-cpp gives that distribution when sampling greedily (temperature 0), so requests that
 * want logprobs are evaluated greedily and, when they asked for temperature > 0, the token is then
 * drawn here from the same distribution with the request's settings and a seeded generator.
 */

export function tokenLogprob(
  model: LlamaModel,
  chosen: Token,
  probabilities: ReadonlyMap<Token, number>,
  top: number,
): TokenLogprob {
  const entry = (token: Token, probability: number): TopLogprob => {
    const text = model.detokenize([token], true);
    return { token: text, logprob: probability > 0 ? Math.log(probability) : -9999, bytes: [...Buffer.from(text, "utf8")] };
  };
  const topLogprobs: TopLogprob[] = [];
  if (top > 0) {
    for (const [token, probability] of probabilities) {
      topLogprobs.push(entry(token, probability));
      if (topLogprobs.length >= top) break;
    }
  }
  return { ...entry(chosen, probabilities.get(chosen) ?? 0), top_logprobs: topLogprobs };
}

/** Draw a token from a probability map sorted by descending probability. */
export function sampleFromDistribution(
  probabilities: ReadonlyMap<Token, number>,
  sampling: Pick<SamplingParams, "temperature" | "topK" | "topP" | "minP">,
  random: () => number,
): Token | undefined {
  const entries = [...probabilities];
  if (entries.length === 0) return undefined;
  if (sampling.temperature <= 0) return entries[0][0];
  let candidates = sampling.topK > 0 ? entries.slice(0, sampling.topK) : entries;
  const maxProbability = candidates[0][1];
  if (sampling.minP > 0) candidates = candidates.filter(([, p]) => p >= sampling.minP * maxProbability);
  if (sampling.topP < 1) {
    let cumulative = 0;
    const total = candidates.reduce((sum, [, p]) => sum + p, 0);
    const kept: typeof candidates = [];
    for (const candidate of candidates) {
      kept.push(candidate);
      cumulative += candidate[1] / total;
      if (cumulative >= sampling.topP) break;
    }
    candidates = kept;
  }
  const weights = candidates.map(([, p]) => Math.pow(p, 1 / sampling.temperature));
  const total = weights.reduce((sum, w) => sum + w, 0);
  let r = random() * total;
  for (let i = 0; i < candidates.length; i++) {
    r -= weights[i];
    if (r <= 0) return candidates[i][0];
  }
  return candidates[candidates.length - 1][0];
}
