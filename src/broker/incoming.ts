/**
 * A message a client published, once the PUBLISH handler has accepted it: QoS 0 and 1 go to
 * the retained store and the subscribers at once; QoS 2 is held in the session under its
 * packet id and goes there at PUBREL, as in Mosquitto, so a resent PUBLISH is never delivered
 * twice [MQTT-4.3.3-10].
 *
 * @module
 */

import type { ClientConnection } from "./context.ts";
import { keepMessage, type Message } from "./message.ts";

/**
 * Keep `message` as its topic's retained message if it is flagged so, and route it to its
 * subscribers; returns how many deliveries it made.
 */
export function publishAccepted(conn: ClientConnection, message: Message): number {
  const fanOut = conn.broker.fanOut;
  if (message.retain) {
    keepMessage(message);
    fanOut.setRetained(message.topic, message);
  }
  return fanOut.route(message, conn);
}

/** Hold a QoS 2 `message` under `packetId` until its PUBREL; its PUBREC promises it. */
export function holdIncoming(conn: ClientConnection, packetId: number, message: Message): void {
  const session = conn.session!;
  keepMessage(message); // it outlives the read buffer
  session.holdIncoming(packetId, message);
  conn.broker.observer.incomingAdded(session, packetId, message);
}

/**
 * The client released `packetId` (PUBREL): the message held under it, if any, is published.
 * An id restored from an older Midge's store holds no message (it went out when it came) and
 * is only forgotten.
 */
export function releaseIncoming(conn: ClientConnection, packetId: number): void {
  const session = conn.session!;
  const message = session.incomingQos2.get(packetId);
  if (!session.deleteIncoming(packetId)) return;
  if (message !== undefined) publishAccepted(conn, message);
  conn.broker.observer.incomingReleased(session, packetId);
}

/**
 * The client sent another message under the packet id of a held QoS 2 one (before PUBCOMP,
 * against [MQTT-2.2.1-3]): the held one is dropped, as Mosquitto drops it, with its warning.
 */
export function dropReusedIncoming(conn: ClientConnection, packetId: number): void {
  const session = conn.session!;
  conn.broker.log.log(
    "warning", // one of Mosquitto's few warnings without `Warning: `
    `Reused message ID ${packetId} from ${conn.clientId} detected. Clearing from storage.`,
  );
  session.deleteIncoming(packetId);
  conn.broker.observer.incomingReleased(session, packetId);
}

/** Whether a QoS 2 PUBLISH to `topic` with `payload` is `held` sent again. */
export function isResent(held: Message | undefined, topic: string, payload: Uint8Array): boolean {
  if (held === undefined) return true; // restored without its message: take it as the same
  if (held.topic !== topic || held.payload.length !== payload.length) return false;
  const bytes = held.payload;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== payload[i]) return false;
  return true;
}
