/**
 * One connection of the HTTP listener: read a request head, answer it, and again while the
 * client keeps the connection alive. A client gets `timeoutMs` to send each whole head (idle
 * time between requests included) and again to take each answer; past it, the connection is
 * closed without a word, so that half-sent requests and stalled readers cannot hold a
 * descriptor for long.
 *
 * @module
 */

import {
  hasBody,
  keepsAlive,
  MAX_HEAD_BYTES,
  parseRequestHead,
  type RequestHead,
  responseBytes,
} from "../transport/http1.ts";

/** Answers one request that came from `from` ("address:port"). */
export type Answer = (head: RequestHead, from: string) => Promise<Response>;

/** A plain-text response for a request that could not be read. */
function refusal(status: number): Response {
  return new Response(`bad request (${status})\n`, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8" },
  });
}

/** One accepted socket served as HTTP/1.x; see the module documentation. */
export class HttpConnection {
  #conn: Deno.Conn;
  #from: string;
  #timeoutMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #answering = false;
  #stopping = false;
  #closed = false;

  /** Serve `conn`, whose peer is `from`, with `timeoutMs` for each head and each answer. */
  constructor(conn: Deno.Conn, options: { from: string; timeoutMs: number }) {
    this.#conn = conn;
    this.#from = options.from;
    this.#timeoutMs = options.timeoutMs;
  }

  /**
   * Answer requests with `answer` until the client closes or stops sending, a request cannot
   * be read, or `stop` is called; the socket is closed when it resolves. Never rejects.
   */
  async serve(answer: Answer): Promise<void> {
    const buffer = new Uint8Array(MAX_HEAD_BYTES);
    let filled = 0;
    try {
      while (!this.#stopping) {
        this.#arm();
        let parsed = parseRequestHead(buffer.subarray(0, filled));
        while ("incomplete" in parsed) {
          const scanned = filled;
          const n = await this.#conn.read(buffer.subarray(filled));
          if (n === null) return;
          filled += n;
          parsed = parseRequestHead(buffer.subarray(0, filled), scanned);
        }
        clearTimeout(this.#timer); // our own time to answer is not the client's
        this.#answering = true;
        if ("error" in parsed) {
          await this.#write(refusal(parsed.error), { head: false, close: true });
          return;
        }
        const { head, length } = parsed;
        const response = await answer(head, this.#from);
        const close = hasBody(head) || !keepsAlive(head) || this.#stopping;
        await this.#write(response, { head: head.method === "HEAD", close });
        this.#answering = false;
        if (close) return;
        buffer.copyWithin(0, length, filled);
        filled -= length;
      }
    } catch {
      // reset by the client, or closed by the deadline or by stop()
    } finally {
      this.#close();
    }
  }

  /** Close now if no answer is being written, else once it is written. */
  stop(): void {
    this.#stopping = true;
    if (!this.#answering) this.#close();
  }

  async #write(response: Response, options: { head: boolean; close: boolean }): Promise<void> {
    const bytes = await responseBytes(response, options);
    this.#arm();
    for (let done = 0; done < bytes.length;) done += await this.#conn.write(bytes.subarray(done));
  }

  #arm(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#close(), this.#timeoutMs);
  }

  #close(): void {
    clearTimeout(this.#timer);
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }
}
