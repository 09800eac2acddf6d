/**
 * One client socket: its read loop (chunks -> frames -> packets -> dispatch), its batched
 * output, its keep alive and the limits its client announced. What a packet means is the
 * handlers' business; the connection only carries bytes and closes.
 *
 * @module
 */

import {
  decodePacket,
  encodePacket,
  FrameReader,
  MqttError,
  type Packet,
  protocolError,
  type ProtocolVersion,
  ReasonCode,
} from "../codec/mod.ts";
import type { PeerIdentity } from "../transport/peer_certificate.ts";
import { type Conn, UnreadLimitError } from "../transport/conn.ts";
import { OutQueue } from "../transport/out_queue.ts";
import type { BrokerContext, ClientConnection } from "./context.ts";
import type { Counters } from "./metrics.ts";
import type { ListenerOptions } from "./options.ts";
import { dispatch, fail } from "./dispatch.ts";
import { congestionWait, type QueueState } from "./flow_control.ts";
import { sentLine } from "./packet_log.ts";
import type { CloseKind, Session } from "./session.ts";

/** The packet type of CONNECT, in the high nibble of its first byte. */
const CONNECT_TYPE = 1;
/** First read buffer: enough for a CONNECT; it doubles while reads fill it. */
const MIN_READ_SIZE = 256;
/**
 * Largest read buffer. 32 KiB holds hundreds of small packets per read; 64 KiB read no faster
 * and, with more packets handled per turn, left more garbage to promote: mqttbench's fan-in
 * peak RSS was 62-67 MiB with 64 KiB against 57-64 MiB with 32 KiB (5-6 runs each).
 */
const MAX_READ_SIZE = 32 * 1024;
/**
 * Longest a closing connection keeps its socket (ms): to write what is queued for the client
 * and, when the broker decided the close, to read and drop what the client still sends, so
 * that the client reads our last packet instead of a reset.
 */
const CLOSE_TIMEOUT_MS = 1000;
/** Most bytes a closing connection reads and drops before closing its socket anyway. */
const CLOSE_DISCARD_LIMIT = 256 * 1024;
/**
 * Packet types (the high nibble) whose bad bytes Mosquitto answers with DISCONNECT (5.0)
 * before closing: the reserved type 0, PUBLISH, SUBSCRIBE and UNSUBSCRIBE.
 */
const ANNOUNCED_DECODE_ERRORS = new Set([0, 3, 8, 10]);
/**
 * Packet types whose refusal by their handler Mosquitto answers with DISCONNECT: PUBLISH,
 * SUBSCRIBE, UNSUBSCRIBE, and DISCONNECT (a session expiry set after CONNECT set 0). Errors in
 * other packets, and a bad remaining length, close the connection without a word.
 */
const ANNOUNCED_HANDLER_ERRORS = new Set([3, 8, 10, 14]);
/** `#frameType` while no frame is decoded (a remaining length is being read). */
const NO_FRAME = -1;

/** A client connection. */
export class Connection implements ClientConnection {
  /** The broker. */
  readonly broker: BrokerContext;
  /** Address of the peer without the port. */
  readonly remoteAddress: string;
  /** Port of the peer. */
  readonly remotePort: number;
  /** The listener the client connected through. */
  readonly listener: ListenerOptions;
  /** The client certificate it presented over TLS, verified; undefined without one. */
  readonly certificate: PeerIdentity | undefined;
  /** Batched output. */
  readonly out: OutQueue;
  #version: ProtocolVersion = 4;
  /** Client id once CONNECT is handled ("" before). */
  clientId = "";
  /** Whether the client connected as a bridge (3.x protocol level with its high bit set). */
  isBridge = false;
  /** The session, once CONNECT is accepted. */
  session: Session | undefined;
  /** Keep alive in ms granted to the client; 0 disables it. */
  keepAliveMs = 0;
  /** When the last packet arrived (ms). */
  lastPacketAt: number;
  /** When the socket was accepted (ms). */
  readonly openedAt: number;
  /** Whether the connection is closed or closing. */
  closed = false;
  /** The client's receive maximum (5.0): QoS 1/2 messages it takes at once. */
  clientReceiveMaximum = 65535;
  /** The largest packet the client accepts (5.0). */
  clientMaximumPacketSize = Infinity;
  /** Topic aliases the client has set, alias -> topic (5.0). */
  inboundAliases: Map<number, string> | undefined;
  /** Whether the will must be published when this connection ends. */
  publishWillOnClose = true;
  /** A connected subscriber whose queue this client's messages overfilled (flow control). */
  congestedBy: QueueState | undefined;
  /** Bytes received. */
  bytesReceived = 0;
  /**
   * The counters this connection's traffic goes to: its listener's "before CONNECT" set, then
   * (`Broker.attach`) the set of its listener and protocol version.
   */
  counters: Counters;
  /** When its CONNECT was accepted (ms); 0 before. */
  connectedAt = 0;
  #socket: Conn;
  #reader: FrameReader;
  #buf: Uint8Array = new Uint8Array(MIN_READ_SIZE);
  #bufferFilled = false;
  #ended = false;
  /** The type (high nibble) of the packet being handled, for `protocolFailure`. */
  #frameType = NO_FRAME;
  /** Whether the failure `protocolFailure` reports is in the bytes, not in their handling. */
  #decodeFailed = false;
  /** Bytes read and dropped since the connection closed. */
  #discarded = 0;
  #socketTimer: ReturnType<typeof setTimeout> | undefined;
  #socketClosed = false;
  /** Bytes of `out.bytesWritten` already added to `counters.bytesSent`. */
  #bytesSentCounted = 0;

  /**
   * Wrap a socket accepted by `peer.listener` from `peer.address`:`peer.port`, counting its
   * traffic in `peer.counters`.
   */
  constructor(
    broker: BrokerContext,
    socket: Conn,
    peer: {
      address: string;
      port: number;
      listener: ListenerOptions;
      counters: Counters;
      certificate?: PeerIdentity;
    },
  ) {
    this.broker = broker;
    this.#socket = socket;
    this.remoteAddress = peer.address;
    this.remotePort = peer.port;
    this.listener = peer.listener;
    this.certificate = peer.certificate;
    this.counters = peer.counters;
    this.openedAt = this.lastPacketAt = broker.now();
    const maxPacketSize = broker.options.maxPacketSize;
    this.#reader = new FrameReader({
      maxPacketSize: maxPacketSize > 0 ? maxPacketSize : undefined,
      minimalLengthOnly: false,
    });
    this.out = new OutQueue(socket, this);
  }

  /** Protocol version; 4 until CONNECT says otherwise. */
  get version(): ProtocolVersion {
    return this.#version;
  }

  /** Only 5.0 requires a remaining length in the fewest bytes [MQTT-1.5.5-1]. */
  set version(version: ProtocolVersion) {
    this.#version = version;
    this.#reader.minimalLengthOnly = version === 5;
  }

  /**
   * "ip:port" of the peer, as Mosquitto logs it (built when logged: idle connections hold no
   * copy); "bridge NAME" for the broker's own bridge.
   */
  get remote(): string {
    if (this.listener.bridge !== undefined) return this.remoteAddress;
    return `${this.remoteAddress}:${this.remotePort}`;
  }

  /** Whether CONNECT has been accepted. */
  get isConnected(): boolean {
    return this.session !== undefined;
  }

  /** A name for log lines: the client id, or `<unknown>` before CONNECT, as Mosquitto's. */
  get logName(): string {
    return this.clientId !== "" ? this.clientId : "<unknown>";
  }

  /**
   * Read and handle packets until the socket closes, then call `broker.readLoopEnded`. Written
   * with callbacks rather than an async loop, and with one reused read handler: an idle
   * connection holds one pending read and nothing else.
   */
  start(): void {
    this.#read();
  }

  #read(): void {
    this.#socket.read(this.#buf).then(this.#onRead, this.#onRead);
  }

  /** The result of a read: a byte count, null at end of stream, or the read's error. */
  #onRead = (result: number | null | Error): void => {
    if (typeof result === "number") return this.#received(result);
    this.#lost(result);
    this.#end();
  };

  #received(n: number): void {
    if (this.closed) return this.#discard(n);
    // The first byte tells whether CONNECT is coming: anything else (a PROXY header, a TLS
    // hello, an HTTP request) is refused at once, not after its would-be length arrives.
    if (this.bytesReceived === 0 && n > 0 && this.#buf[0] >> 4 !== CONNECT_TYPE) {
      fail(
        this,
        protocolError(
          `first packet is not CONNECT (first byte 0x${this.#buf[0].toString(16)}) ` +
            "[MQTT-3.1.0-1]",
        ),
      );
      return this.#read();
    }
    this.bytesReceived += n;
    this.counters.bytesReceived += n;
    this.lastPacketAt = this.broker.now();
    this.#bufferFilled = n === this.#buf.length;
    this.#reader.push(this.#buf.subarray(0, n));
    this.#handleFrames();
  }

  /**
   * Handle the frames of the current chunk, pausing where a handler waits or flow control
   * holds this publisher (mid-chunk is fine: the chunk is not reused until the next read).
   */
  #handleFrames(): void {
    try {
      for (let frame = this.#nextFrame(); frame !== null; frame = this.#nextFrame()) {
        const packet = decodePacket(frame, this.version);
        this.counters.messagesReceived++;
        const pending = dispatch(this, packet);
        if (this.closed) return this.#read();
        if (pending !== undefined) {
          pending.then(() => this.#resume());
          return;
        }
        const congestion = congestionWait(this, this.broker.options);
        if (congestion !== undefined) {
          congestion.then(() => this.#resume());
          return;
        }
      }
    } catch (error) {
      // fail() also answers an unsupported protocol level, which the decoder raises.
      this.#decodeFailed = true;
      fail(this, error);
      return this.#read();
    }
    if (this.#bufferFilled && this.#buf.length < MAX_READ_SIZE) {
      this.#buf = new Uint8Array(this.#buf.length * 2);
    }
    // Do not read more from a client that does not read what we send it.
    if (this.out.pendingBytes > this.broker.options.maxOutputBytes) {
      this.out.drained().then(() => this.#read());
    } else {
      this.#read();
    }
  }

  /** The next whole frame or null, its type noted for `protocolFailure`. */
  #nextFrame(): Uint8Array | null {
    this.#frameType = NO_FRAME;
    const frame = this.#reader.next();
    if (frame !== null) this.#frameType = frame[0] >> 4;
    return frame;
  }

  #resume(): void {
    if (this.closed) return this.#read();
    this.#handleFrames();
  }

  /**
   * `n` bytes arrived after the close: dropped, never dispatched nor counted, until the client
   * closes, `CLOSE_TIMEOUT_MS` passes or `CLOSE_DISCARD_LIMIT` bytes came.
   */
  #discard(n: number): void {
    this.#discarded += n;
    if (this.#discarded <= CLOSE_DISCARD_LIMIT) return this.#read();
    this.closeSocket();
    this.#end();
  }

  /**
   * The read loop is over (the client closed, or the socket failed or was closed): the socket
   * goes once what is queued is written (a lingering close ends here).
   */
  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.close("lost");
    this.out.drained().then(this.closeSocket);
    this.broker.readLoopEnded();
  }

  /**
   * Add the bytes written since the last call to `counters.bytesSent`: bytes sent are counted
   * when a snapshot reads them and when the connection closes, not per write.
   */
  settleBytesSent(): void {
    const written = this.out.bytesWritten;
    this.counters.bytesSent += written - this.#bytesSentCounted;
    this.#bytesSentCounted = written;
  }

  /**
   * Its CONNECT was accepted: from now on its traffic counts in `counters` (those of its
   * listener and protocol version), and so does what it sent until now (its CONNECT).
   */
  countConnected(counters: Counters): void {
    const before = this.counters;
    if (counters !== before) {
      this.settleBytesSent();
      before.bytesReceived -= this.bytesReceived;
      counters.bytesReceived += this.bytesReceived;
      before.messagesReceived--; // the CONNECT
      counters.messagesReceived++;
      this.counters = counters;
    }
    counters.connections++;
  }

  /** The output queue could not write: the socket is gone. */
  outputFailed(error: unknown): void {
    this.#lost(error);
  }

  /** The socket is gone (`error`: why, when it failed); a client cut off is logged. */
  #lost(error: unknown): void {
    if (error instanceof UnreadLimitError && !this.closed) {
      this.broker.log.notice(
        `Client ${this.logName} from ${this.remote} cut off: ${error.message}.`,
      );
    }
    this.close("lost");
  }

  /** Encode `packet` for this connection's version and queue it. */
  send(packet: Packet): void {
    if (this.closed) return;
    const bytes = encodePacket(packet, this.version);
    if (bytes.length > this.clientMaximumPacketSize) return this.#tooLarge(packet, bytes.length);
    this.out.push(bytes);
    this.counters.messagesSent++;
    const log = this.broker.log;
    if (log.enabled("debug")) {
      const line = sentLine(this.logName, packet, this.version);
      if (line !== undefined) log.debug(line);
    }
  }

  /**
   * `packet` encodes to `size` bytes, more than the client accepts: it is not sent
   * [MQTT-3.1.2-24]; a CONNACK that cannot be sent closes the connection.
   */
  #tooLarge(packet: Packet, size: number): void {
    const what = `${packet.type.toUpperCase()} of ${size} bytes, over its maximum packet size ` +
      `of ${this.clientMaximumPacketSize}`;
    if (packet.type !== "connack") {
      this.broker.log.notice(`Dropped ${what} to ${this.logName}.`);
      return;
    }
    this.broker.log.notice(`Client ${this.logName} disconnected due to oversize packet: ${what}.`);
    this.close("protocol");
  }

  /**
   * A malformed or illegal packet: log it and close [MQTT-4.13.1-1]. As Mosquitto does, a 5.0
   * client is told why with DISCONNECT only for an oversize packet and for the errors
   * `ANNOUNCED_DECODE_ERRORS` and `ANNOUNCED_HANDLER_ERRORS` list, never for a repeated
   * property. What was wrong is logged first, then Mosquitto's line, word for word.
   */
  protocolFailure(error: MqttError): void {
    const log = this.broker.log;
    const reasonCode = error.reasonCode;
    log.notice(`Bad packet from client ${this.logName}: ${error.message}.`);
    if (log.connectionMessages) log.notice(failureLine(this.logName, error));
    const announced = this.#decodeFailed ? ANNOUNCED_DECODE_ERRORS : ANNOUNCED_HANDLER_ERRORS;
    if (
      reasonCode === ReasonCode.PacketTooLarge ||
      (!error.isDuplicateProperty && announced.has(this.#frameType))
    ) {
      this.disconnect(reasonCode, "protocol");
    } else {
      this.close("protocol");
    }
  }

  /**
   * Close with a reason: a 5.0 client that completed CONNECT first gets DISCONNECT with
   * `reasonCode` alone, no properties, as Mosquitto sends it.
   */
  disconnect(reasonCode: number, kind: CloseKind): void {
    if (this.closed) return;
    if (this.version === 5 && this.isConnected) this.send({ type: "disconnect", reasonCode });
    this.close(kind);
  }

  /**
   * Close: the broker forgets the connection at once (session, will, counts); the socket is
   * closed once what is queued is written. When the broker decided the close and has a last
   * word queued (DISCONNECT, a refusing CONNACK), it lingers instead: once that is written it
   * closes its write side and reads and drops what the client still sends until the client
   * closes too, so the client reads the last word rather than a reset. Not while the broker
   * stops. Either way the socket goes after `CLOSE_TIMEOUT_MS` at most. Idempotent.
   */
  close(kind: CloseKind): void {
    if (this.closed) return;
    this.closed = true;
    this.settleBytesSent(); // the broker stops settling it once it is closed
    this.broker.connectionClosed(this, kind);
    this.#socketTimer = setTimeout(this.closeSocket, CLOSE_TIMEOUT_MS);
    const linger = kind !== "lost" && kind !== "disconnect" && this.out.pendingBytes > 0 &&
      !this.broker.stopping && this.#socket.closeWrite !== undefined;
    if (linger) this.broker.lingering.add(this);
    this.out.drained().then(linger ? this.#closeWrite : this.closeSocket);
  }

  /** The last word is written: close the write side; reads go on until the client closes. */
  #closeWrite = (): void => {
    if (this.#socketClosed) return;
    this.#socket.closeWrite!().catch(this.closeSocket);
  };

  /** Close the socket (its pending read then ends the read loop). Idempotent. */
  closeSocket = (): void => {
    if (this.#socketClosed) return;
    this.#socketClosed = true;
    this.broker.lingering.delete(this);
    clearTimeout(this.#socketTimer);
    this.settleBytesSent();
    try {
      this.#socket.close();
    } catch {
      // already closed by the peer
    }
  };
}

/** Mosquitto's line for a client `name` closed on `error`. */
function failureLine(name: string, error: MqttError): string {
  if (error.isDuplicateProperty) {
    // Mosquitto reports a repeated property as a failed read.
    return `Bad socket read/write on client ${name}: Duplicate property in property list`;
  }
  const what = error.reasonCode === ReasonCode.MalformedPacket
    ? "malformed packet"
    : error.reasonCode === ReasonCode.PacketTooLarge
    ? "oversize packet"
    : "protocol error";
  return `Client ${name} disconnected due to ${what}.`;
}
