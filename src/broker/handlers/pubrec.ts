/**
 * PUBREC: the client has a QoS 2 message we sent; answer PUBREL and await PUBCOMP. A 5.0
 * PUBREC with a failure reason ends the exchange [MQTT-4.3.3-4].
 *
 * @module
 */

import { type AckPacket, ReasonCode } from "../../codec/mod.ts";
import type { Connection } from "../connection.ts";
import { fillInflight } from "../delivery.ts";

/** Handle a PUBREC. */
export function handlePubrec(conn: Connection, packet: AckPacket): void {
  const session = conn.session!;
  const outgoing = session.inflight.get(packet.packetId);
  if (outgoing === undefined || outgoing.qos !== 2) {
    conn.send({
      type: "pubrel",
      packetId: packet.packetId,
      reasonCode: ReasonCode.PacketIdentifierNotFound,
    });
    return;
  }
  const persistence = conn.broker.persistence;
  if (packet.reasonCode >= 0x80) {
    session.deleteInflight(packet.packetId);
    persistence?.done(session, outgoing);
    fillInflight(conn.broker, conn, session);
    return;
  }
  outgoing.state = "pubrel";
  if (persistence !== undefined && outgoing.storeSeq > 0) {
    // PUBREL only once "pubrel" is stored: resending the PUBLISH after a crash would
    // deliver it twice.
    persistence.updated(session, outgoing);
    persistence.hold(conn);
  }
  conn.send({ type: "pubrel", packetId: packet.packetId, reasonCode: 0 });
}
