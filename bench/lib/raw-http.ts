import { connect, type Socket } from "node:net";

/**
 * One kept-alive HTTP/1.1 connection, one request at a time, written and read on the bare socket: the
 * request's bytes are built once, the response is read up to its Content-Length. This is how wrk and
 * similar load tools measure a server's latency — node:http's client spends ~100 µs of its own per
 * request (objects, header parsing, streams), which on two busy vCPUs would be counted as the server's.
 * Only what a JSON API answers is understood: a status line, headers with Content-Length, a body.
 */
export class RawHttpConnection {
  private socket: Socket | null = null;
  private buffer: Buffer = Buffer.alloc(0);
  private pending: { resolve: (status: number) => void; reject: (err: Error) => void } | null = null;

  private constructor(private readonly host: string, private readonly port: number) {}

  static async open(baseUrl: string): Promise<RawHttpConnection> {
    const url = new URL(baseUrl);
    const connection = new RawHttpConnection(url.hostname, Number(url.port));
    await connection.connect();
    return connection;
  }

  /** The bytes of a POST of `body` as JSON to `path`, for `send`. */
  postRequest(path: string, body: unknown): Buffer {
    const payload = Buffer.from(JSON.stringify(body));
    const head =
      `POST ${path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${payload.length}\r\nConnection: keep-alive\r\n\r\n`;
    return Buffer.concat([Buffer.from(head), payload]);
  }

  /** The bytes of a GET of `path`, for `send`. */
  getRequest(path: string): Buffer {
    return Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\nConnection: keep-alive\r\n\r\n`);
  }

  /** Sends a request built above; resolves with the status once the whole response is in. */
  send(request: Buffer): Promise<number> {
    if (this.pending) return Promise.reject(new Error("RawHttpConnection: one request at a time"));
    if (!this.socket) return Promise.reject(new Error("RawHttpConnection: closed"));
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket!.write(request);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = null;
  }

  private connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: this.host, port: this.port, noDelay: true }, () => resolve());
      socket.once("error", reject);
      socket.on("data", (chunk: Buffer) => this.onData(chunk));
      socket.on("error", (err) => this.fail(err));
      socket.on("close", () => this.fail(new Error("RawHttpConnection: the server closed the connection")));
      this.socket = socket;
    });
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const headEnd = this.buffer.indexOf("\r\n\r\n");
    if (headEnd < 0) return;
    const head = this.buffer.toString("latin1", 0, headEnd);
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!length) return this.fail(new Error("RawHttpConnection: response without Content-Length"));
    const total = headEnd + 4 + Number(length[1]);
    if (this.buffer.length < total) return;
    const status = Number(head.slice(9, 12));
    this.buffer = this.buffer.subarray(total);
    const pending = this.pending;
    this.pending = null;
    pending?.resolve(status);
  }

  private fail(err: Error): void {
    const pending = this.pending;
    this.pending = null;
    pending?.reject(err);
  }
}
