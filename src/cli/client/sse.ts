/**
 * A Server-Sent Events reader (the WHATWG format: `event:`, `data:` lines joined by newlines, `id:`,
 * `:` comments, frames separated by a blank line), for the OpenAI stream and the admin event stream.
 */
export interface SseEvent {
  /** "message" when the frame names none. */
  event: string;
  data: string;
  id: string | null;
}

export async function* readSseEvents(body: ReadableStream<Uint8Array>, signal?: AbortSignal): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  const onAbort = () => void reader.cancel().catch(() => {});
  signal?.addEventListener("abort", onAbort, { once: true });
  let buffer = "";
  let finished = false;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      // Normalise line ends so the frame split below only needs "\n\n". A "\r" at the very end may be
      // the first half of a "\r\n" split across reads: it waits for the next read.
      const held = !done && buffer.endsWith("\r") ? "\r" : "";
      buffer = buffer.slice(0, buffer.length - held.length).replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) !== -1) {
        const frame = parseFrame(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (frame) yield frame;
      }
      buffer += held;
      if (done) {
        const last = parseFrame(buffer);
        finished = true;
        if (last) yield last;
        return;
      }
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    // A consumer that stops early (break, abort) must not leave the response open.
    if (!finished) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/** One frame's lines → an event; a frame of only comments (heartbeats) → null. */
export function parseFrame(text: string): SseEvent | null {
  let event = "message";
  let id: string | null = null;
  const data: string[] = [];
  let hasData = false;
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "id") id = value;
    else if (field === "data") {
      data.push(value);
      hasData = true;
    }
  }
  return hasData ? { event, data: data.join("\n"), id } : null;
}
