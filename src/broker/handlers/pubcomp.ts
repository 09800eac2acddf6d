/**
 * PUBCOMP: the last step of a QoS 2 message we sent; free its packet id and send more.
 *
 * @module
 */

import type { AckPacket } from "../../codec/mod.ts";
import type { ClientConnection } from "../context.ts";
import { fillInflight } from "../delivery.ts";

/** Handle a PUBCOMP. An unknown packet id is ignored (logged at debug). */
export function handlePubcomp(conn: ClientConnection, packet: AckPacket): void {
  const session = conn.session!;
  const outgoing = session.inflight.get(packet.packetId);
  if (outgoing === undefined || outgoing.state !== "pubrel") {
    conn.broker.log.debug(
      `Received PUBCOMP from ${conn.clientId} for unknown id ${packet.packetId}`,
    );
    return;
  }
  session.deleteInflight(packet.packetId);
  conn.broker.observer.done(session, outgoing);
  fillInflight(conn.broker, conn, session);
}
