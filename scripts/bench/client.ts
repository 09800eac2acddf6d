/**
 * One MQTT 3.1.1 client connection of the load generator, on a `Dialer` (TCP by default, TLS or
 * WebSocket: transport.ts) and the project's codec. Output is batched as the broker batches it (DESIGN.md, performance rules): packets
 * appended during a turn of the event loop go out with one awaited `write()` loop that handles
 * partial writes, so the generator does not pay one system call per message. Input is read
 * into one reusable buffer, framed by `FrameReader` and decoded by `decodePacket`.
 *
 * @module
 */

import {
  decodePacket,
  encodePacket,
  FrameReader,
  type Packet,
  type PacketType,
} from "../../src/codec/mod.ts";
import type { Conn } from "../../src/transport/conn.ts";
import { nowNs } from "./payload.ts";
import { type Dialer, makeDialer } from "./transport.ts";

/** The protocol spoken: MQTT 3.1.1. */
const VERSION = 4;
/** First batch buffer; grows by doubling (idle connections stay small). */
const INITIAL_OUT_BYTES = 512;
const EMPTY = new Uint8Array(0);

/** How to open a client. */
export interface OpenOptions {
  /** Broker address. */
  hostname: string;
  /** Broker port. */
  port: number;
  /** Client identifier. */
  clientId: string;
  /** Keep alive in seconds put in CONNECT (the engine sends PINGREQ when idle half of it). */
  keepAlive: number;
  /** Size of the reusable read buffer. */
  readBufferBytes: number;
  /** Longest the connect (with its TLS or WebSocket handshake) and the CONNACK may take (ms). */
  timeoutMs: number;
  /** How to connect (default: plain TCP). */
  dial?: Dialer;
  /** Clean session flag of CONNECT (default true); false resumes or keeps a stored session. */
  clean?: boolean;
  /**
   * Packet handler installed before CONNECT is sent (else assign `onPacket` after `open`): a
   * resumed session's messages may arrive in the same read as the CONNACK.
   */
  onPacket?: (client: BenchClient, packet: Packet) => void;
}

interface Waiter {
  type: PacketType;
  resolve: (packet: Packet) => void;
  reject: (error: Error) => void;
}

/** Reject after `ms` unless `promise` settles first; `onLate` gets a value that came too late. */
function withTimeout<T>(
  promise: Promise<T>,
  options: { ms: number; what: string; onLate?: (value: T) => void },
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new Error(`${options.what}: no answer in ${options.ms} ms`));
    }, options.ms);
  });
  promise.then((value) => {
    if (timedOut) options.onLate?.(value);
  }, () => {});
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A connected MQTT client with batched output. */
export class BenchClient {
  /** Client identifier. */
  readonly clientId: string;
  /** Called for every packet no `expect()` is waiting for. */
  onPacket: (packet: Packet) => void = () => {};
  /** Called after each batch has been written; producers refill here. */
  onFlushed: () => void = () => {};
  /** Whether the connection is closed or closing. */
  closed = false;
  /** Why the connection ended when we did not end it (lost connection), else undefined. */
  failure: string | undefined;
  /** The CONNACK's session present flag. */
  sessionPresent = false;
  /** When bytes were last written (performance.now() ms), for keep alive. */
  lastWriteMs: number = performance.now();
  /** When the chunk being handled was read (ns, `nowNs()`): one clock read per chunk. */
  readAtNs = 0;
  #conn: Conn;
  #reader = new FrameReader();
  #readBuf: Uint8Array;
  #out: Uint8Array = EMPTY;
  #outLength = 0;
  #spare: Uint8Array = EMPTY;
  #writingBytes = 0;
  #scheduled = false;
  #closing = false;
  #waiter: Waiter | undefined;
  #readLoop: Promise<void> = Promise.resolve();
  #flushTask = (): void => {
    this.#scheduled = false;
    this.flushNow();
  };

  private constructor(conn: Conn, options: OpenOptions) {
    this.#conn = conn;
    this.clientId = options.clientId;
    this.#readBuf = new Uint8Array(options.readBufferBytes);
    const handler = options.onPacket;
    if (handler !== undefined) this.onPacket = (packet) => handler(this, packet);
  }

  /** Connect, send CONNECT and wait for a successful CONNACK. */
  static async open(options: OpenOptions): Promise<BenchClient> {
    const dial = options.dial ?? await makeDialer();
    const conn = await withTimeout(
      dial(options.hostname, options.port),
      { ms: options.timeoutMs, what: "connect", onLate: (late) => late.close() },
    );
    const client = new BenchClient(conn, options);
    client.#readLoop = client.#read();
    client.send({
      type: "connect",
      protocolVersion: VERSION,
      clientId: options.clientId,
      clean: options.clean ?? true,
      keepAlive: options.keepAlive,
    });
    try {
      const connack = await client.expect("connack", options.timeoutMs);
      if (connack.type === "connack" && connack.reasonCode !== 0) {
        throw new Error(`CONNACK refused with return code ${connack.reasonCode}`);
      }
      if (connack.type === "connack") client.sessionPresent = connack.sessionPresent;
    } catch (error) {
      client.close();
      throw error;
    }
    return client;
  }

  /** Bytes appended but not yet written. */
  get pendingBytes(): number {
    return this.#outLength + this.#writingBytes;
  }

  /** Wait for the next packet of `type` (one waiter at a time, handshakes only). */
  expect(type: PacketType, timeoutMs: number): Promise<Packet> {
    if (this.closed) return Promise.reject(new Error(this.failure ?? "connection closed"));
    const { promise, resolve, reject } = Promise.withResolvers<Packet>();
    this.#waiter = { type, resolve, reject };
    return withTimeout(promise, { ms: timeoutMs, what: `${this.clientId}: ${type}` });
  }

  /** Subscribe to `filter` at `qos` and wait for a SUBACK that grants it. */
  async subscribe(filter: string, options: { qos: 0 | 1 | 2; timeoutMs: number }): Promise<void> {
    this.send({
      type: "subscribe",
      packetId: 1,
      subscriptions: [{
        topicFilter: filter,
        qos: options.qos,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 0,
      }],
    });
    const suback = await this.expect("suback", options.timeoutMs);
    if (suback.type === "suback" && suback.reasonCodes.some((code) => code >= 0x80)) {
      throw new Error(`${this.clientId}: SUBACK refused '${filter}': ${suback.reasonCodes}`);
    }
  }

  /** Encode `packet` and append it to this turn's batch. */
  send(packet: Packet): void {
    this.append(encodePacket(packet, VERSION));
  }

  /**
   * Append encoded bytes to this turn's batch; they are written at the end of the turn. Returns
   * where they start in `batchBuffer` (to patch them in place before the turn ends), or -1 when
   * the connection is closed.
   */
  append(bytes: Uint8Array): number {
    if (this.closed) return -1;
    const need = this.#outLength + bytes.length;
    if (need > this.#out.length) {
      let size = Math.max(INITIAL_OUT_BYTES, this.#out.length * 2);
      while (size < need) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.#out.subarray(0, this.#outLength));
      this.#out = grown;
    }
    const at = this.#outLength;
    this.#out.set(bytes, at);
    this.#outLength = need;
    if (!this.#scheduled && this.#writingBytes === 0) {
      this.#scheduled = true;
      queueMicrotask(this.#flushTask);
    }
    return at;
  }

  /** The buffer `append` writes to (it changes when it grows and at every flush). */
  get batchBuffer(): Uint8Array {
    return this.#out;
  }

  /**
   * Start writing what was appended now rather than at the end of the turn (when nothing is
   * being written). The read loop calls it after each chunk, so everything a chunk caused
   * (acknowledgements, refills) goes out in one write without waiting for the other
   * connections' chunks of the same turn.
   */
  flushNow(): void {
    if (this.#writingBytes === 0 && this.#outLength > 0 && !this.closed) this.#flush();
  }

  /**
   * Write what was appended, one awaited `write()` loop per batch; while a batch is being
   * written the next one collects in the other buffer. Ends when nothing is left.
   */
  async #flush(): Promise<void> {
    try {
      while (this.#outLength > 0 && !this.closed) {
        const length = this.#outLength;
        const batch = this.#out;
        this.#out = this.#spare;
        this.#spare = batch;
        this.#outLength = 0;
        this.#writingBytes = length;
        let written = 0;
        while (written < length) {
          written += await this.#conn.write(batch.subarray(written, length));
        }
        this.#writingBytes = 0;
        this.lastWriteMs = performance.now();
      }
    } catch (error) {
      this.#writingBytes = 0;
      this.#lost(`write failed: ${(error as Error).message}`);
      return;
    }
    this.onFlushed();
  }

  /** The read loop: chunks -> frames -> packets, until the socket closes. */
  async #read(): Promise<void> {
    const buf = this.#readBuf;
    try {
      while (!this.closed) {
        const n = await this.#conn.read(buf);
        if (n === null) {
          this.#lost("closed by the broker");
          return;
        }
        this.readAtNs = nowNs();
        this.#reader.push(buf.subarray(0, n));
        for (let frame = this.#reader.next(); frame !== null; frame = this.#reader.next()) {
          const packet = decodePacket(frame, VERSION);
          const waiter = this.#waiter;
          if (waiter !== undefined && waiter.type === packet.type) {
            this.#waiter = undefined;
            waiter.resolve(packet);
          } else {
            this.onPacket(packet);
          }
        }
        this.flushNow();
      }
    } catch (error) {
      this.#lost(`read failed: ${(error as Error).message}`);
    }
  }

  #lost(why: string): void {
    if (this.closed) return;
    if (!this.#closing) this.failure = why;
    this.close();
  }

  /**
   * Send DISCONNECT and wait up to `waitMs` for the broker to close first (so TIME_WAIT lands
   * on its side, as mqttbench does), then close. Resolves to whether the broker closed first.
   */
  async disconnect(waitMs: number): Promise<boolean> {
    if (this.closed) return false;
    this.#closing = true;
    this.send({ type: "disconnect", reasonCode: 0 });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), waitMs);
    });
    const closedFirst = await Promise.race([this.#readLoop.then(() => true), timedOut]);
    clearTimeout(timer);
    this.close();
    return closedFirst;
  }

  /** Close now. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(new Error(this.failure ?? `${this.clientId}: connection closed`));
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }
}
