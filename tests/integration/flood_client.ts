/**
 * A 5.0 client that floods QoS 2 PUBLISH packets without waiting for their PUBREC, answering
 * each PUBREC with PUBREL between two PUBLISH, and writes down how the connection ended: what
 * it read, and whether its reads ended in an orderly end of stream or in a reset, and whether
 * a write failed first. Used against Midge and against Mosquitto alike.
 *
 * @module
 */

import { decodePacket, encodePacket, FrameReader, type Packet } from "../../src/codec/mod.ts";
import type { Conn } from "../../src/transport/conn.ts";

/** How a flood ended. */
export interface FloodResult {
  /** The reason code of the CONNACK read, if one came. */
  connack: number | undefined;
  /** The reason code of the DISCONNECT read, if one came. */
  disconnect: number | undefined;
  /** Reason codes of the PUBREC packets read, in order. */
  pubrecCodes: number[];
  /** PUBLISH packets written. */
  published: number;
  /** How the reads ended: end of stream, an error (a reset), or still open at the time bound. */
  readEnd: "eof" | "error" | "open";
  /** The first write error ("Broken pipe" when the broker closed before the client stopped). */
  writeError: string | undefined;
}

/** Bounds of a flood. */
export interface FloodOptions {
  /** Most PUBLISH packets written. */
  maxPublishes: number;
  /** Longest the flood and the wait for the end of the connection take (ms). */
  timeMs: number;
  /** Flood right after CONNECT, without waiting for CONNACK (default: wait). */
  pipelined?: boolean;
  /** Called as the DISCONNECT is read, before the client closes. */
  onDisconnect?: () => void;
  /** Never answer PUBREC with PUBREL: the broker's Receive Maximum fills at once. */
  withholdPubrel?: boolean;
  /** Opens the connection (TLS, WebSocket); default: TCP to 127.0.0.1:`port`. */
  dial?: () => Promise<Conn>;
}

/** PUBLISH packets written between two turns given to the reads. */
const YIELD_EVERY = 10;
/** Payload of every flooded PUBLISH. */
const PAYLOAD = new Uint8Array(100);

/** Write all of `bytes`. */
async function writeAll(conn: Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

/** Connect to 127.0.0.1:`port` as `clientId` (5.0, clean start) and flood QoS 2 on "flood". */
export async function floodQos2(
  port: number,
  clientId: string,
  options: FloodOptions,
): Promise<FloodResult> {
  const conn = await (options.dial?.() ?? Deno.connect({ hostname: "127.0.0.1", port }));
  const deadline = Date.now() + options.timeMs;
  const result: FloodResult = {
    connack: undefined,
    disconnect: undefined,
    pubrecCodes: [],
    published: 0,
    readEnd: "open",
    writeError: undefined,
  };
  const pubrels: number[] = [];
  /** Whether the broker said its last word (a refusing CONNACK or a DISCONNECT). */
  const told = () => result.disconnect !== undefined || (result.connack ?? 0) >= 0x80;
  let closing = false;
  const reading = (async () => {
    const reader = new FrameReader();
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) {
          result.readEnd = "eof";
          return;
        }
        reader.push(buf.subarray(0, n));
        for (let f = reader.next(); f !== null; f = reader.next()) {
          const packet = decodePacket(f.slice(), 5);
          if (packet.type === "connack") result.connack = packet.reasonCode;
          if (packet.type === "pubrec") {
            result.pubrecCodes.push(packet.reasonCode ?? 0);
            if (!options.withholdPubrel) pubrels.push(packet.packetId);
          }
          if (packet.type === "disconnect" && result.disconnect === undefined) {
            result.disconnect = packet.reasonCode;
            options.onDisconnect?.();
          }
        }
      }
    } catch {
      if (!closing) result.readEnd = "error";
    }
  })();
  const encode = (packet: Packet) => encodePacket(packet, 5);
  try {
    await writeAll(
      conn,
      encode({ type: "connect", protocolVersion: 5, clientId, clean: true, keepAlive: 60 }),
    );
    while (
      !options.pipelined && result.connack === undefined && result.readEnd === "open" &&
      Date.now() < deadline
    ) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    while (
      !told() && result.readEnd === "open" && result.published < options.maxPublishes &&
      Date.now() < deadline
    ) {
      for (const packetId of pubrels.splice(0)) {
        await writeAll(conn, encode({ type: "pubrel", packetId, reasonCode: 0 }));
      }
      const packetId = result.published % 65535 + 1;
      await writeAll(
        conn,
        encode({
          type: "publish",
          topic: "flood",
          qos: 2,
          packetId,
          payload: PAYLOAD,
          retain: false,
          dup: false,
        }),
      );
      result.published++;
      // A client hears what comes back while it sends: let the reads run now and then.
      if (result.published % YIELD_EVERY === 0) await new Promise((r) => setTimeout(r, 0));
    }
  } catch (error) {
    result.writeError = (error as Error).message;
  }
  // What the broker says after the flood stops, until it closes or the time is up.
  const timer = Math.max(deadline - Date.now(), 500);
  let timeout: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([reading, new Promise((resolve) => timeout = setTimeout(resolve, timer))]);
  clearTimeout(timeout);
  closing = true;
  conn.close();
  await reading;
  return result;
}
