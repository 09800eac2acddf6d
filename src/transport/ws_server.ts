/**
 * The server side of MQTT over WebSockets (RFC 6455, MQTT 5.0 section 6): `acceptWebSocket`
 * reads the HTTP upgrade request of an accepted socket and answers it, and the upgraded
 * connection is a `Conn` whose bytes are the payloads of binary frames. Written by hand rather
 * than on `Deno.upgradeWebSocket` so that nothing is read from the socket while the broker does
 * not call `read()` (its way of pausing a client whose output is backed up) and so that a frame
 * over the maximum is refused before it is buffered.
 *
 * Choices where Mosquitto 2.0 (libwebsockets 4.1) was measured: the subprotocol is `mqtt` or
 * `mqttv3.1`, the first of them the client offers; a request offering neither is refused with
 * 400 (Mosquitto upgrades one offering none but then never answers its MQTT, and drops one
 * offering only others). A plain HTTP request is served from `httpDir`, or answered 404 without
 * it (Mosquitto closes such a connection without an answer). Sec-WebSocket-Version must be 13
 * (426 otherwise, RFC 6455 section 4.4; libwebsockets lets 8 through).
 *
 * @module
 */

import type { Conn } from "./conn.ts";
import { MAX_HEAD_BYTES, parseRequestHead, type RequestHead, responseBytes } from "./http1.ts";
import { serveStatic } from "./static_files.ts";
import {
  acceptKey,
  CloseCode,
  closePayload,
  type DecoderStop,
  FrameDecoder,
  frameHeaderLength,
  Opcode,
  writeFrameHeader,
} from "./ws_frames.ts";

/** How a WebSocket listener treats its connections. */
export interface WebSocketOptions {
  /** The largest frame, or fragmented message, a client may send (bytes); more closes 1009. */
  maxFrameSize: number;
  /** Mosquitto's `http_dir`: serve plain HTTP GETs from the files under it. */
  httpDir?: string;
  /** How long the upgrade request may take to arrive whole. */
  handshakeTimeoutMs: number;
}

/**
 * What became of an accepted socket: upgraded (`conn` carries MQTT; `path` is the request
 * target, `protocol` the subprotocol chosen), refused (the HTTP answer, if any, was sent and
 * the socket closed; `refused` says why, for a log line), or a plain HTTP request answered
 * from `httpDir` (`served` says what, for a log line; the socket is closed).
 */
export type WebSocketAccept =
  | { conn: Conn; path: string; protocol: string }
  | { refused: string }
  | { served: string };

/** The subprotocols Mosquitto accepts, in no order of preference. */
const SUBPROTOCOLS = new Set(["mqtt", "mqttv3.1"]);

const encoder = new TextEncoder();

/** Read, check and answer the upgrade request on `socket`. */
export async function acceptWebSocket(
  socket: Conn,
  options: WebSocketOptions,
): Promise<WebSocketAccept> {
  const request = await readRequest(socket, options.handshakeTimeoutMs);
  if ("refused" in request) {
    closeQuietly(socket);
    return request;
  }
  const { head, rest } = request;
  if (!head.headers.has("upgrade")) return await answerPlain(socket, head, options.httpDir);
  const problem = upgradeProblem(head);
  if (problem !== undefined) {
    const headers: HeadersInit = problem.status === 426 ? { "sec-websocket-version": "13" } : {};
    await answer(socket, new Response(null, { status: problem.status, headers }), head);
    return { refused: problem.why };
  }
  const protocol = chooseSubprotocol(head.headers.get("sec-websocket-protocol"));
  if (protocol === undefined) {
    await answer(socket, new Response(null, { status: 400 }), head);
    return { refused: "no MQTT subprotocol (mqtt, mqttv3.1) offered" };
  }
  const key = head.headers.get("sec-websocket-key") ?? "";
  const reply = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n" +
    `Connection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n` +
    `Sec-WebSocket-Protocol: ${protocol}\r\n\r\n`;
  try {
    await writeAll(socket, encoder.encode(reply));
  } catch {
    closeQuietly(socket);
    return { refused: "connection lost during the handshake" };
  }
  const decoder = new FrameDecoder(options.maxFrameSize);
  decoder.push(rest);
  return { conn: new WebSocketConn(socket, decoder), path: head.target, protocol };
}

/** The head of the first request, and the bytes read after it. */
async function readRequest(
  socket: Conn,
  timeoutMs: number,
): Promise<{ head: RequestHead; rest: Uint8Array } | { refused: string }> {
  const buf = new Uint8Array(MAX_HEAD_BYTES);
  let filled = 0;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    closeQuietly(socket);
  }, timeoutMs);
  try {
    while (true) {
      const n = await socket.read(buf.subarray(filled)).catch(() => null);
      if (n === null) {
        return {
          refused: timedOut
            ? `no upgrade request within ${timeoutMs} ms`
            : "connection closed before the upgrade request",
        };
      }
      const scanned = filled;
      filled += n;
      const parse = parseRequestHead(buf.subarray(0, filled), scanned);
      if ("head" in parse) return { head: parse.head, rest: buf.slice(parse.length, filled) };
      if ("error" in parse) {
        await answer(socket, new Response(null, { status: parse.error }));
        return { refused: `malformed upgrade request (HTTP ${parse.error})` };
      }
    }
  } finally {
    clearTimeout(timer);
  }
}

/** What is wrong with an upgrade request (RFC 6455 section 4.2.1), if anything. */
function upgradeProblem(head: RequestHead): { status: 400 | 405 | 426; why: string } | undefined {
  const has = (name: string, token: string) =>
    (head.headers.get(name) ?? "").toLowerCase().split(",").some((t) => t.trim() === token);
  if (head.method !== "GET") return { status: 405, why: `${head.method} instead of GET` };
  if (head.version !== "1.1" || !has("upgrade", "websocket") || !has("connection", "upgrade")) {
    return { status: 400, why: "not a WebSocket upgrade request" };
  }
  if (head.headers.get("sec-websocket-version") !== "13") {
    return { status: 426, why: "Sec-WebSocket-Version is not 13" };
  }
  const key = head.headers.get("sec-websocket-key") ?? "";
  if (!/^[A-Za-z0-9+/]{22}==$/.test(key)) return { status: 400, why: "bad Sec-WebSocket-Key" };
  return undefined;
}

/** The first subprotocol offered that Mosquitto accepts too. */
function chooseSubprotocol(offered: string | null): string | undefined {
  return offered?.split(",").map((p) => p.trim()).find((p) => SUBPROTOCOLS.has(p));
}

/** Answer a request that asks for no upgrade: a file from `httpDir`, or 404. */
async function answerPlain(
  socket: Conn,
  head: RequestHead,
  httpDir: string | undefined,
): Promise<WebSocketAccept> {
  if (httpDir === undefined) {
    await answer(socket, new Response(null, { status: 404 }), head);
    return { refused: `${head.method} ${head.target}: not a WebSocket upgrade (no http_dir)` };
  }
  const { response, file } = await serveStatic(httpDir, head);
  await answer(socket, response, head);
  return { served: file ?? `${head.method} ${head.target}: ${response.status}` };
}

/** Send `response` (headers only for a HEAD) and close the socket. */
async function answer(socket: Conn, response: Response, head?: RequestHead): Promise<void> {
  try {
    await writeAll(
      socket,
      await responseBytes(response, { head: head?.method === "HEAD", close: true }),
    );
  } catch {
    // the client is gone; nothing to tell it
  }
  closeQuietly(socket);
}

async function writeAll(socket: Conn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await socket.write(bytes.subarray(off));
}

function closeQuietly(socket: Conn): void {
  try {
    socket.close();
  } catch {
    // already closed
  }
}

/** Frames up to this size are built in a buffer kept per connection; larger ones get their own. */
const KEPT_FRAME_BUFFER = 64 * 1024;

/**
 * An upgraded connection as a byte stream: `read` gives the payloads of the client's binary
 * messages, `write` sends one binary frame, `close` sends a close frame and closes,
 * `closeWrite` sends a close frame and reads on until the client answers it or closes.
 */
class WebSocketConn implements Conn {
  readonly remoteAddr: Deno.Addr;
  readonly #socket: Conn;
  readonly #decoder: FrameDecoder;
  /** The frames being written, one after another. */
  #writes: Promise<void> = Promise.resolve();
  #pendingWrites = 0;
  #pongQueued = false;
  #frameBuffer = new Uint8Array(0);
  #closed = false;
  /** Whether our close frame is sent or on its way (no frame may follow it). */
  #closeSent = false;

  constructor(socket: Conn, decoder: FrameDecoder) {
    this.#socket = socket;
    this.#decoder = decoder;
    this.remoteAddr = socket.remoteAddr;
  }

  /**
   * Bytes decoded from what was read already, or else from one read of the socket (so 0 when
   * that read brought only headers or control frames); null once the client closed.
   */
  async read(buf: Uint8Array): Promise<number | null> {
    if (this.#closed) return null;
    const decoder = this.#decoder;
    let n = decoder.decode(buf);
    if (n === 0 && decoder.stop === undefined) {
      const direct = decoder.direct(buf);
      let got: number | null;
      try {
        got = await this.#socket.read(direct ?? decoder.space());
      } catch (error) {
        if (this.#closed) return null;
        throw error;
      }
      if (got === null) {
        this.#closed = true;
        closeQuietly(this.#socket);
        return null;
      }
      if (direct !== undefined) {
        decoder.unmaskDirect(direct.subarray(0, got));
        n = got;
      } else {
        decoder.filled(got);
        n = decoder.decode(buf);
      }
    }
    this.#answerPing();
    const stop = decoder.stop;
    if (n > 0 || stop === undefined) return n;
    return this.#stopped(stop);
  }

  /** Send `data` as one binary frame; resolves once it is all written. */
  async write(data: Uint8Array): Promise<number> {
    if (this.#closed || this.#closeSent) {
      throw new Deno.errors.BadResource("the WebSocket is closed");
    }
    await this.#send(Opcode.binary, data);
    return data.length;
  }

  /** Send a close frame (1000) and close the socket; at once if output is stuck. */
  close(): void {
    if (!this.#closed) this.#closeWith(CloseCode.normal);
  }

  /**
   * Start the closing handshake (RFC 6455 §5.5.1): send a close frame (1000) and go on reading,
   * so that what the client still sends is read, until its close frame or its end of stream
   * ends the reads. Resolves once the frame is written.
   */
  closeWrite(): Promise<void> {
    if (this.#closed || this.#closeSent) return Promise.resolve();
    this.#closeSent = true;
    return this.#send(Opcode.close, closePayload(CloseCode.normal));
  }

  /** The client closed or broke the protocol: answer with a close frame and end. */
  #stopped(stop: DecoderStop): null {
    if (!this.#closed) this.#closeWith(stop.code);
    if (stop.byPeer) return null;
    throw new Error(`WebSocket: ${stop.reason} (closed with ${stop.code})`);
  }

  #closeWith(code: number): void {
    this.#closed = true;
    // A write still waiting means the client reads nothing: a close frame would wait too.
    if (this.#closeSent) return this.#endSocket();
    if (this.#pendingWrites > 0) return closeQuietly(this.#socket);
    this.#closeSent = true;
    this.#send(Opcode.close, closePayload(code)).catch(() => {}).finally(() =>
      closeQuietly(this.#socket)
    );
  }

  /**
   * The closing handshake is over: end the socket in order (over TLS, with close_notify, which
   * clients such as rustls require), then close it.
   */
  #endSocket(): void {
    const socket = this.#socket;
    if (socket.closeWrite === undefined) return closeQuietly(socket);
    socket.closeWrite().catch(() => {}).finally(() => closeQuietly(socket));
  }

  /** Answer the latest ping with a pong, unless a pong is still on its way. */
  #answerPing(): void {
    const ping = this.#decoder.ping;
    if (ping === undefined || this.#closed || this.#closeSent) return;
    this.#decoder.ping = undefined;
    if (this.#pongQueued) return;
    this.#pongQueued = true;
    this.#send(Opcode.pong, ping).catch(() => {}).finally(() => this.#pongQueued = false);
  }

  /** Write one frame after those before it, header and payload in one write. */
  #send(opcode: number, payload: Uint8Array): Promise<void> {
    this.#pendingWrites++;
    const job = this.#writes.then(() => writeAll(this.#socket, this.#frame(opcode, payload)));
    this.#writes = job.catch(() => {}).finally(() => this.#pendingWrites--);
    return job;
  }

  /** `payload` in a frame, built in the kept buffer when it fits. */
  #frame(opcode: number, payload: Uint8Array): Uint8Array {
    const size = frameHeaderLength(payload.length) + payload.length;
    if (size > this.#frameBuffer.length && size <= KEPT_FRAME_BUFFER) {
      this.#frameBuffer = new Uint8Array(Math.min(KEPT_FRAME_BUFFER, Math.max(size, 1024)));
    }
    const bytes = size <= this.#frameBuffer.length
      ? this.#frameBuffer.subarray(0, size)
      : new Uint8Array(size);
    bytes.set(payload, writeFrameHeader(bytes, opcode, payload.length));
    return bytes;
  }
}
