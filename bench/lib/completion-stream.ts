/** One streamed completion, timed from the client's side. */
export interface StreamTiming {
  /** Request sent. */
  startAt: number;
  /** First chunk carrying text. */
  firstAt: number;
  /** Last chunk carrying text. */
  lastAt: number;
  tokens: number;
}

/**
 * POSTs an OpenAI-style streamed `/v1/completions` request and times its text chunks. Works for LMX and
 * llama-server alike: both send `data: {…}` frames with `choices[0].text`. LMX may carry several tokens
 * per frame (its runner batches events), so the token count comes from the usage frame when there is
 * one, else from the number of text frames (llama-server sends one per token).
 */
export async function streamCompletion(url: string, body: Record<string, unknown>): Promise<StreamTiming> {
  const startAt = performance.now();
  const response = await fetch(`${url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
  });
  if (!response.ok || !response.body) throw new Error(`${url}: HTTP ${response.status} ${await response.text()}`);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  let firstAt = 0;
  let lastAt = 0;
  let textFrames = 0;
  let usageTokens: number | null = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    const now = performance.now();
    buffered += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffered.indexOf("\n\n")) !== -1) {
      const frame = buffered.slice(0, cut).trim();
      buffered = buffered.slice(cut + 2);
      if (!frame.startsWith("data:")) continue;
      const data = frame.slice(5).trim();
      if (data === "[DONE]") continue;
      const chunk = JSON.parse(data) as { choices?: Array<{ text?: string }>; usage?: { completion_tokens?: number } | null };
      if (chunk.usage?.completion_tokens !== undefined) usageTokens = chunk.usage.completion_tokens;
      const text = chunk.choices?.[0]?.text;
      if (text) {
        textFrames++;
        firstAt ||= now;
        lastAt = now;
      }
    }
  }
  return { startAt, firstAt, lastAt, tokens: usageTokens ?? textFrames };
}
