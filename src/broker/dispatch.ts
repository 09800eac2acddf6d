/**
 * Packet type -> handler, and the one place where an error becomes a DISCONNECT or a closed
 * socket (STYLE.md 4). Handlers throw `MqttError`; they never touch the socket.
 *
 * Here too is decided, once per packet, whether its answer must wait for the store: when
 * handling it made changes the answer promises (`StateObserver.promised` moved), the
 * connection's output is held until they are durable. The answer is still in this turn's
 * batch of output then, so it waits, and so does everything after it.
 *
 * @module
 */

import { MqttError, type Packet, protocolError, ReasonCode } from "../codec/mod.ts";
import type { ClientConnection } from "./context.ts";
import { receivedLines } from "./packet_log.ts";
import { handleAuth } from "./handlers/auth.ts";
import { handleConnect } from "./handlers/connect.ts";
import { handleDisconnect } from "./handlers/disconnect.ts";
import { handlePingreq } from "./handlers/pingreq.ts";
import { handlePuback } from "./handlers/puback.ts";
import { handlePubcomp } from "./handlers/pubcomp.ts";
import { handlePublish } from "./handlers/publish.ts";
import { handlePubrec } from "./handlers/pubrec.ts";
import { handlePubrel } from "./handlers/pubrel.ts";
import { handleSubscribe } from "./handlers/subscribe.ts";
import { handleUnsubscribe } from "./handlers/unsubscribe.ts";

/**
 * Hand `packet` to its handler. A promise comes back only from a handler that waits (for a
 * password check): it brings the rest of the handler's work, run here in its turn; the read
 * loop awaits it before the next packet.
 */
export function dispatch(conn: ClientConnection, packet: Packet): Promise<void> | undefined {
  const broker = conn.broker;
  const log = broker.log;
  if (log.enabled("debug") && conn.isConnected) {
    for (const line of receivedLines(conn.clientId, packet)) log.debug(line);
  }
  try {
    const promisedBefore = broker.observer.promised;
    const waiting = route(conn, packet);
    holdIfPromised(conn, promisedBefore);
    return waiting?.then((rest) => {
      const before = broker.observer.promised;
      rest();
      holdIfPromised(conn, before);
    }).catch((error) => fail(conn, error));
  } catch (error) {
    fail(conn, error);
    return undefined;
  }
}

/**
 * Hold `conn`'s output until the store has what was promised since the observer's count was
 * `before` (the answer is still in this turn's batch of output, so it waits too).
 */
function holdIfPromised(conn: ClientConnection, before: number): void {
  const observer = conn.broker.observer;
  if (observer.promised !== before && !conn.closed) observer.holdUntilDurable(conn);
}

/** Server-to-client packets a 3.1 client may send without being closed. */
const IGNORED_IN_31: ReadonlySet<Packet["type"]> = new Set(["suback", "unsuback", "pingresp"]);

function route(conn: ClientConnection, packet: Packet): Promise<() => void> | void {
  if (!conn.isConnected) {
    if (packet.type !== "connect") {
      throw protocolError(`first packet is ${packet.type}, not CONNECT [MQTT-3.1.0-1]`);
    }
    return handleConnect(conn, packet);
  }
  switch (packet.type) {
    case "publish":
      return handlePublish(conn, packet);
    case "puback":
      return handlePuback(conn, packet);
    case "pubrec":
      return handlePubrec(conn, packet);
    case "pubrel":
      return handlePubrel(conn, packet);
    case "pubcomp":
      return handlePubcomp(conn, packet);
    case "subscribe":
      return handleSubscribe(conn, packet);
    case "unsubscribe":
      return handleUnsubscribe(conn, packet);
    case "pingreq":
      return handlePingreq(conn);
    case "disconnect":
      return handleDisconnect(conn, packet);
    case "auth":
      return handleAuth(conn, packet);
    case "connect":
      throw protocolError("second CONNECT on a connection [MQTT-3.1.0-2]");
    default:
      // MQTT 3.1 sets no rule for a SUBACK, UNSUBACK or PINGRESP from a client: Mosquitto
      // ignores them, and so do we.
      if (conn.version === 3 && IGNORED_IN_31.has(packet.type)) return;
      throw protocolError(`${packet.type.toUpperCase()} is only sent by servers`);
  }
}

/**
 * End a connection on `error`. An unsupported protocol level still gets its CONNACK (in 3.1.1
 * form, return code 1) [MQTT-3.1.2-2]; anything that is not an `MqttError` is a bug, logged as
 * such, and the client gets 0x83.
 */
export function fail(conn: ClientConnection, error: unknown): void {
  if (conn.closed) return;
  if (!(error instanceof MqttError)) {
    conn.broker.log.error(`Internal error handling client ${conn.logName}: ${error}`);
    conn.disconnect(ReasonCode.ImplementationSpecificError, "protocol");
    return;
  }
  if (!conn.isConnected && error.reasonCode === ReasonCode.UnsupportedProtocolVersion) {
    conn.send({ type: "connack", sessionPresent: false, reasonCode: error.reasonCode });
  }
  conn.protocolFailure(error);
}
