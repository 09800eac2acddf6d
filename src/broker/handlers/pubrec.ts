/**
 * PUBREC: the client has a QoS 2 message we sent; answer PUBREL and await PUBCOMP. A 5.0
 * PUBREC with a failure reason ends the exchange [MQTT-4.3.3-4].
 *
 * @module
 */

import { type AckPacket, ReasonCode } from "../../codec/mod.ts";
import type { ClientConnection } from "../context.ts";
import { fillInflight } from "../delivery.ts";

/** Handle a PUBREC. */
export function handlePubrec(conn: ClientConnection, packet: AckPacket): void {
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
  const observer = conn.broker.observer;
  if (packet.reasonCode >= 0x80) {
    session.deleteInflight(packet.packetId);
    observer.done(session, outgoing);
    fillInflight(conn.broker, conn, session);
    return;
  }
  outgoing.state = "pubrel";
  // PUBREL only once "pubrel" is stored (the dispatcher holds it): resending the PUBLISH
  // after a crash would deliver it twice.
  observer.released(session, outgoing);
  conn.send({ type: "pubrel", packetId: packet.packetId, reasonCode: 0 });
}
