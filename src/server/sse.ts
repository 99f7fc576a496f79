import type { ServerResponse } from "node:http";

/**
 * A Server-Sent Events response written straight to the socket. Headers go out with the first
 * frame, so that a request refused before it produced anything (queue full, prompt too long) still
 * gets a plain HTTP error with the right status instead of a 200 stream.
 */
export class SseWriter {
  private started = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly headers: Record<string, string> = {},
  ) {}

  get headersSent(): boolean {
    return this.started;
  }

  get closed(): boolean {
    return this.res.destroyed || this.res.writableEnded;
  }

  /** Write several frames in one socket write. */
  send(frames: readonly unknown[]): void {
    if (frames.length === 0 || this.closed) return;
    this.start();
    let text = "";
    for (const frame of frames) text += `data: ${JSON.stringify(frame)}\n\n`;
    this.res.write(text);
  }

  /** OpenAI's terminator. */
  end(withDone = true): void {
    if (this.closed) return;
    this.start();
    this.res.end(withDone ? "data: [DONE]\n\n" : undefined);
  }

  /** A named event (admin streams, Octo task streams). */
  event(name: string, data: unknown, id?: string): void {
    if (this.closed) return;
    this.start();
    this.res.write(`${id !== undefined ? `id: ${id}\n` : ""}event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  comment(text: string): void {
    if (this.closed) return;
    this.start();
    this.res.write(`: ${text}\n\n`);
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "x-accel-buffering": "no",
      ...this.headers,
    });
    // No flushHeaders(): the headers go out in the same write as the first frame (every start() is
    // followed by one), so the client wakes once for both — a wake-up less before the first token.
  }
}
