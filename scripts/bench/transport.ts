/**
 * How the load generator's clients reach the broker: plain TCP, TLS (rustls through
 * `Deno.startTls`, trusting the benchmark's own CA) or WebSocket (subprotocol "mqtt"). All
 * three set TCP_NODELAY, as the broker's own sockets do.
 *
 * The WebSocket client is a small one of our own over `Deno.connect` rather than Deno's
 * `WebSocket` (which `src/transport/dial.ts` adapts for the tools): that adapter waits for
 * each frame to leave on a 1 ms timer, which would make the generator, not the broker, set the
 * pace. Frames are masked with the key 0 (RFC 6455 wants an unpredictable key, against proxy
 * cache poisoning; it changes nothing for the broker, which unmasks every byte either way) so
 * the generator does not pay for the masking.
 *
 * @module
 */

import type { Conn } from "../../src/transport/conn.ts";
import { frameHeaderLength, Opcode, writeFrameHeader } from "../../src/transport/ws_frames.ts";

/** A transport, as a generator job names it. */
export type TransportSpec = { kind: "tcp" } | { kind: "tls"; caFile: string } | { kind: "ws" };

/** Opens one connection to the broker. */
export type Dialer = (hostname: string, port: number) => Promise<Conn>;

/** The WebSocket path asked for (MQTT.js's default). */
const WS_PATH = "/mqtt";
/** The longest HTTP answer to the upgrade read. */
const WS_HEAD_MAX = 4096;
/** Read buffer of a WebSocket connection (frames are unwrapped from it). */
const WS_READ_BYTES = 64 * 1024;
/** The 4-byte masking key of every frame sent. */
const MASK_BYTES = 4;

/** A dialer for `spec` (the CA file is read once, here). */
export async function makeDialer(spec: TransportSpec = { kind: "tcp" }): Promise<Dialer> {
  switch (spec.kind) {
    case "tcp":
      return connectTcp;
    case "tls": {
      const caCerts = [await Deno.readTextFile(spec.caFile)];
      return async (hostname, port) => {
        const tls = await Deno.startTls(await connectTcp(hostname, port), { hostname, caCerts });
        try {
          await tls.handshake();
        } catch (error) {
          tls.close();
          throw error;
        }
        return tls;
      };
    }
    case "ws":
      return openWebSocket;
  }
}

async function connectTcp(hostname: string, port: number): Promise<Deno.TcpConn> {
  const conn = await Deno.connect({ hostname, port, transport: "tcp" });
  try {
    conn.setNoDelay(true);
  } catch {
    // the broker may already have closed it; the next read says so
  }
  return conn;
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let written = 0;
  while (written < data.length) written += await conn.write(data.subarray(written));
}

/** Connect, ask for the upgrade, and check the 101 answer. */
async function openWebSocket(hostname: string, port: number): Promise<Conn> {
  const tcp = await connectTcp(hostname, port);
  try {
    const key = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
    await writeAll(
      tcp,
      new TextEncoder().encode(
        `GET ${WS_PATH} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
          "Sec-WebSocket-Protocol: mqtt\r\n\r\n",
      ),
    );
    const input = new Uint8Array(WS_READ_BYTES);
    let end = 0;
    let headEnd = -1;
    while (headEnd < 0) {
      if (end >= WS_HEAD_MAX) throw new Error("WebSocket upgrade: answer too long");
      const n = await tcp.read(input.subarray(end, WS_HEAD_MAX));
      if (n === null) throw new Error("WebSocket upgrade: closed by the broker");
      end += n;
      const text = new TextDecoder().decode(input.subarray(0, end));
      const at = text.indexOf("\r\n\r\n");
      if (at >= 0) {
        if (!/^HTTP\/1\.1 101 /.test(text)) {
          throw new Error(`WebSocket upgrade refused: ${text.split("\r\n")[0]}`);
        }
        headEnd = at + 4;
      }
    }
    input.copyWithin(0, headEnd, end);
    return new WebSocketClient(tcp, input, end - headEnd);
  } catch (error) {
    tcp.close();
    throw error;
  }
}

/**
 * The client end of a WebSocket as a byte stream: `read` gives the payload of the server's
 * data frames (control frames are skipped, a close frame ends the stream), `write` sends one
 * binary frame per call.
 */
class WebSocketClient implements Conn {
  readonly remoteAddr: Deno.Addr;
  #tcp: Deno.TcpConn;
  #input: Uint8Array;
  #start = 0;
  #end: number;
  /** Payload bytes of the current frame not yet read. */
  #remaining = 0;
  /** Whether the current frame carries data (else its payload is skipped). */
  #data = false;
  #closed = false;

  constructor(tcp: Deno.TcpConn, input: Uint8Array, filled: number) {
    this.#tcp = tcp;
    this.remoteAddr = tcp.remoteAddr;
    this.#input = input;
    this.#end = filled;
  }

  async read(buf: Uint8Array): Promise<number | null> {
    // Each pass consumes a frame header, some payload or one socket read: bounded by the input.
    for (;;) {
      const available = this.#end - this.#start;
      if (this.#remaining > 0 && available > 0) {
        const n = Math.min(this.#remaining, available, buf.length);
        if (this.#data) buf.set(this.#input.subarray(this.#start, this.#start + n));
        this.#start += n;
        this.#remaining -= n;
        if (this.#data) return n;
        continue;
      }
      if (this.#remaining === 0 && this.#nextHeader()) {
        if (this.#closed) return null;
        continue;
      }
      if (this.#start === this.#end) this.#start = this.#end = 0;
      else if (this.#end === this.#input.length) {
        this.#input.copyWithin(0, this.#start, this.#end);
        this.#end -= this.#start;
        this.#start = 0;
      }
      const n = await this.#tcp.read(this.#input.subarray(this.#end));
      if (n === null) return null;
      this.#end += n;
    }
  }

  /** Take the next frame header if it is all in; a close frame closes. */
  #nextHeader(): boolean {
    const at = this.#start;
    const available = this.#end - at;
    if (available < 2) return false;
    const b1 = this.#input[at + 1];
    const short = b1 & 0x7f;
    const extra = short === 126 ? 2 : short === 127 ? 8 : 0;
    const headerLength = 2 + extra + ((b1 & 0x80) !== 0 ? MASK_BYTES : 0);
    if (available < headerLength) return false;
    const view = new DataView(this.#input.buffer, at);
    const length = short === 126
      ? view.getUint16(2)
      : short === 127
      ? Number(view.getBigUint64(2))
      : short;
    const opcode = this.#input[at] & 0x0f;
    this.#start += headerLength;
    this.#remaining = length;
    this.#data = opcode === Opcode.binary || opcode === Opcode.continuation;
    if (opcode === Opcode.close) this.close();
    return true;
  }

  async write(data: Uint8Array): Promise<number> {
    const headerLength = frameHeaderLength(data.length);
    const frame = new Uint8Array(headerLength + MASK_BYTES + data.length);
    writeFrameHeader(frame, Opcode.binary, data.length);
    frame[1] |= 0x80; // masked, with the key 0 0 0 0 left in the next four bytes
    frame.set(data, headerLength + MASK_BYTES);
    await writeAll(this.#tcp, frame);
    return data.length;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#tcp.close();
  }
}
