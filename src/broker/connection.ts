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
const MAX_READ_SIZE = 64 * 1024;
/** Longest a closing connection waits for a client to read what is queued for it (ms). */
const CLOSE_FLUSH_TIMEOUT_MS = 1000;

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
  /** Protocol version; 4 until CONNECT says otherwise. */
  version: ProtocolVersion = 4;
  /** Client id once CONNECT is handled ("" before). */
  clientId = "";
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
  /** The highest topic alias the client accepts from us (5.0). */
  clientTopicAliasMaximum = 0;
  /** Topic aliases the client has set, alias -> topic (5.0). */
  inboundAliases: Map<number, string> | undefined;
  /** Topic aliases we have set for the client, topic -> alias (5.0). */
  outboundAliases: Map<string, number> | undefined;
  /** Whether the client asked for problem information (5.0 request problem information). */
  requestProblemInformation = true;
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
    this.#reader = new FrameReader(maxPacketSize > 0 ? { maxPacketSize } : {});
    this.out = new OutQueue(socket, this);
  }

  /** "ip:port" of the peer, as Mosquitto logs it (built when logged: idle connections hold no copy). */
  get remote(): string {
    return `${this.remoteAddress}:${this.remotePort}`;
  }

  /** Whether CONNECT has been accepted. */
  get isConnected(): boolean {
    return this.session !== undefined;
  }

  /** A name for log lines: the client id, or the address before CONNECT. */
  get logName(): string {
    return this.clientId !== "" ? this.clientId : this.remote;
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
    if (this.closed) return this.#end();
    this.#socket.read(this.#buf).then(this.#onRead, this.#onRead);
  }

  /** The result of a read: a byte count, null at end of stream, or the read's error. */
  #onRead = (result: number | null | Error): void => {
    if (typeof result === "number") return this.#received(result);
    this.#lost(result);
    this.#end();
  };

  #received(n: number): void {
    if (this.closed) return this.#end();
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
      return this.#end();
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
      for (let frame = this.#reader.next(); frame !== null; frame = this.#reader.next()) {
        const packet = decodePacket(frame, this.version);
        this.counters.messagesReceived++;
        const pending = dispatch(this, packet);
        if (this.closed) return this.#end();
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
      fail(this, error);
      return this.#end();
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

  #resume(): void {
    if (this.closed) return this.#end();
    this.#handleFrames();
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.close("lost");
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
    this.out.push(encodePacket(packet, this.version));
    this.counters.messagesSent++;
    const log = this.broker.log;
    if (log.enabled("debug")) {
      const line = sentLine(this.logName, packet, this.version);
      if (line !== undefined) log.debug(line);
    }
  }

  /**
   * A malformed or illegal packet: log it, tell a 5.0 client why with DISCONNECT, and close
   * [MQTT-4.13.1-1].
   */
  protocolFailure(error: MqttError): void {
    const log = this.broker.log;
    const what = error.reasonCode === ReasonCode.MalformedPacket
      ? "malformed packet"
      : error.reasonCode === ReasonCode.PacketTooLarge
      ? "oversize packet"
      : "protocol error";
    log.notice(`Client ${this.logName} disconnected due to ${what}: ${error.message}.`);
    this.disconnect(error.reasonCode, error.message, "protocol");
  }

  /**
   * Close with a reason: a 5.0 client that completed CONNECT first gets DISCONNECT with
   * `reasonCode` (and `reasonString` if it allows problem information).
   */
  disconnect(reasonCode: number, reasonString: string | undefined, kind: CloseKind): void {
    if (this.closed) return;
    if (this.version === 5 && this.isConnected) {
      const withReason = reasonString !== undefined && this.requestProblemInformation;
      this.send({
        type: "disconnect",
        reasonCode,
        properties: withReason ? { reasonString } : undefined,
      });
    }
    this.close(kind);
  }

  /**
   * Close the connection after writing what is queued, or after CLOSE_FLUSH_TIMEOUT_MS if the
   * client does not read it. Idempotent.
   */
  close(kind: CloseKind): void {
    if (this.closed) return;
    this.closed = true;
    this.settleBytesSent(); // the broker stops settling it once it is closed
    this.broker.connectionClosed(this, kind);
    const socket = this.#socket;
    const closeSocket = () => {
      clearTimeout(timer);
      this.settleBytesSent();
      try {
        socket.close();
      } catch {
        // already closed by the peer or by the timer
      }
    };
    const timer = setTimeout(closeSocket, CLOSE_FLUSH_TIMEOUT_MS);
    this.out.drained().finally(closeSocket);
  }
}
