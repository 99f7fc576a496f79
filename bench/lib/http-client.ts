import http from "node:http";

/**
 * A POST of JSON over node:http with kept-alive connections, its response body handed over chunk by
 * chunk as it arrives. The lightest client Node has: fetch (undici) adds a few hundred microseconds
 * of its own per request, which would be counted as the server's.
 */
export class BenchHttpClient {
  private readonly agent: http.Agent;
  private readonly url: URL;

  constructor(baseUrl: string, maxSockets = 64) {
    this.url = new URL(baseUrl);
    this.agent = new http.Agent({ keepAlive: true, maxSockets });
  }

  /**
   * Resolves with the status when the response has ended; `onChunk` gets each piece of the body with
   * its arrival time (what it throws rejects the request).
   */
  post(path: string, body: unknown, onChunk: (text: string, at: number) => void, headers: Record<string, string> = {}): Promise<number> {
    const payload = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const request = http.request(
        {
          host: this.url.hostname,
          port: this.url.port,
          path,
          method: "POST",
          agent: this.agent,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload), ...headers },
        },
        (response) => {
          response.setEncoding("utf8");
          response.on("data", (text: string) => {
            try {
              onChunk(text, performance.now());
            } catch (err) {
              response.destroy();
              reject(err);
            }
          });
          response.on("end", () => resolve(response.statusCode ?? 0));
          response.on("error", reject);
        },
      );
      request.on("error", reject);
      request.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
