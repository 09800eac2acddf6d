/**
 * PUBREL: the client releases a QoS 2 message it sent us; forget its packet id so a new
 * message may reuse it, and answer PUBCOMP [MQTT-4.3.3-11].
 *
 * @module
 */

import { type AckPacket, ReasonCode } from "../../codec/mod.ts";
import type { ClientConnection } from "../context.ts";

/** Handle a PUBREL. */
export function handlePubrel(conn: ClientConnection, packet: AckPacket): void {
  const session = conn.session!;
  const known = session.deleteIncomingQos2(packet.packetId);
  if (known) conn.broker.observer.incomingReleased(session, packet.packetId);
  conn.send({
    type: "pubcomp",
    packetId: packet.packetId,
    reasonCode: known || conn.version !== 5 ? 0 : ReasonCode.PacketIdentifierNotFound,
  });
}
