import type { BenchHttpClient } from "./http-client.js";

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

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number | null;
}

/** A streamed completion with the arrival time of every text chunk, and the usage the server reported. */
export interface TimedStream extends StreamTiming {
  /** performance.now() of each read that carried text, in order (one per token when the server sends one per token). */
  textAt: number[];
  /** The text received, all chunks together. */
  text: string;
  usage: Usage | null;
  /** The client stopped reading (its signal fired) before the stream ended. */
  aborted: boolean;
}

export interface TimedStreamOptions {
  headers?: Record<string, string>;
  /**
   * Send through this kept-alive node:http client instead of fetch, whose own per-request cost (a few
   * hundred µs) would count as the server's in latency figures. `url` is then the client's server.
   */
  client?: BenchHttpClient;
  /** Stops reading and closes the connection (the server then stops generating). */
  signal?: AbortSignal;
  /** Called as each text chunk arrives, e.g. to start something once a stream is decoding. */
  onText?(at: number): void;
}

/**
 * POSTs a streamed `/v1/completions` request and records when each text chunk arrives, from the
 * client's side: every chunk's time (inter-token gaps), the text, the usage with its
 * `prompt_tokens_details.cached_tokens` (prefix caching), request headers and a way to stop a stream
 * midway. LMX may carry several tokens per chunk (its runner batches events), so the token count comes
 * from the usage when there is one, else from the number of text chunks; llama-server's streams (one
 * chunk per token) work alike.
 */
export async function timedStream(url: string, body: Record<string, unknown>, options: TimedStreamOptions = {}): Promise<TimedStream> {
  const startAt = performance.now();
  const textAt: number[] = [];
  let text = "";
  let usage: Usage | null = null;
  let textChunks = 0;
  const result = (aborted: boolean): TimedStream => ({
    startAt,
    firstAt: textAt[0] ?? 0,
    lastAt: textAt[textAt.length - 1] ?? 0,
    tokens: usage?.completion_tokens ?? textChunks,
    textAt,
    text,
    usage,
    aborted,
  });

  let buffered = "";
  /** Takes the stream as it arrives: several SSE frames in one piece arrived together and share its time. */
  const feed = (piece: string, now: number) => {
    buffered += piece;
    let carriedText = false;
    let cut;
    while ((cut = buffered.indexOf("\n\n")) !== -1) {
      const frame = buffered.slice(0, cut).trim();
      buffered = buffered.slice(cut + 2);
      if (!frame.startsWith("data:")) continue;
      const data = frame.slice(5).trim();
      if (data === "[DONE]") continue;
      const chunk = JSON.parse(data) as {
        choices?: Array<{ text?: string }>;
        usage?: { prompt_tokens: number; completion_tokens: number; prompt_tokens_details?: { cached_tokens?: number } } | null;
        error?: { message: string };
      };
      if (chunk.error) throw new Error(`${url}: stream error: ${chunk.error.message}`);
      if (chunk.usage) {
        usage = {
          prompt_tokens: chunk.usage.prompt_tokens,
          completion_tokens: chunk.usage.completion_tokens,
          cached_tokens: chunk.usage.prompt_tokens_details?.cached_tokens ?? null,
        };
      }
      const piece = chunk.choices?.[0]?.text;
      if (piece) {
        text += piece;
        textChunks++;
        carriedText = true;
      }
    }
    if (carriedText) {
      textAt.push(now);
      options.onText?.(now);
    }
  };
  const payload = { ...body, stream: true, stream_options: { include_usage: true } };

  if (options.client) {
    if (options.signal) throw new Error("timedStream: `signal` works with fetch only, not with `client`");
    const status = await options.client.post("/v1/completions", payload, feed, options.headers);
    if (status !== 200) throw new Error(`${url}: HTTP ${status} ${buffered}`);
    return result(false);
  }

  let response: Response;
  try {
    response = await fetch(`${url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", ...options.headers },
      body: JSON.stringify(payload),
      signal: options.signal,
    });
  } catch (err) {
    if (options.signal?.aborted) return result(true);
    throw err;
  }
  if (!response.ok || !response.body) throw new Error(`${url}: HTTP ${response.status} ${await response.text()}`);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      feed(decoder.decode(value, { stream: true }), performance.now());
    }
  } catch (err) {
    if (options.signal?.aborted) return result(true);
    throw err;
  }
  return result(false);
}
