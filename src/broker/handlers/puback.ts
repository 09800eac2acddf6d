/**
 * PUBACK: the client has a QoS 1 message we sent; free its packet id and send more.
 *
 * @module
 */

import { type AckPacket, protocolError } from "../../codec/mod.ts";
import type { ClientConnection } from "../context.ts";
import { fillInflight } from "../delivery.ts";

/**
 * Handle a PUBACK. An unknown packet id is ignored (logged at debug), as Mosquitto does; a
 * PUBACK for a QoS 2 message is a protocol error.
 */
export function handlePuback(conn: ClientConnection, packet: AckPacket): void {
  const session = conn.session!;
  const outgoing = session.inflight.get(packet.packetId);
  if (outgoing === undefined) {
    conn.broker.log.debug(
      `Received PUBACK from ${conn.clientId} for unknown id ${packet.packetId}`,
    );
    return;
  }
  if (outgoing.qos !== 1) {
    throw protocolError(`PUBACK for QoS 2 message ${packet.packetId}`);
  }
  session.deleteInflight(packet.packetId);
  conn.broker.observer.done(session, outgoing);
  fillInflight(conn.broker, conn, session);
}
