/**
 * PUBCOMP: the last step of a QoS 2 message we sent; free its packet id and send more.
 *
 * @module
 */

import { type AckPacket, protocolError } from "../../codec/mod.ts";
import type { ClientConnection } from "../context.ts";
import { fillInflight } from "../delivery.ts";

/**
 * Handle a PUBCOMP. An unknown packet id is ignored (logged at debug), as Mosquitto does; a
 * PUBCOMP for a QoS 1 message, or before its PUBREC, is a protocol error.
 */
export function handlePubcomp(conn: ClientConnection, packet: AckPacket): void {
  const session = conn.session!;
  const outgoing = session.inflight.get(packet.packetId);
  if (outgoing === undefined) {
    conn.broker.log.debug(
      `Received PUBCOMP from ${conn.clientId} for unknown id ${packet.packetId}`,
    );
    return;
  }
  if (outgoing.state !== "pubrel") {
    throw protocolError(`PUBCOMP for message ${packet.packetId}, which awaits PUBACK or PUBREC`);
  }
  session.deleteInflight(packet.packetId);
  conn.broker.observer.done(session, outgoing);
  fillInflight(conn.broker, conn, session);
}
