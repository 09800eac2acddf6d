/**
 * PUBREL: the client releases a QoS 2 message it sent us; the message held under its packet
 * id goes to its subscribers, the id is forgotten so a new message may reuse it, and PUBCOMP
 * answers [MQTT-4.3.3-11], 0x00 even for an id not held (a PUBREL sent again after a
 * reconnect, or after a refused PUBLISH), as in Mosquitto.
 *
 * @module
 */

import type { AckPacket } from "../../codec/mod.ts";
import type { ClientConnection } from "../context.ts";
import { releaseIncoming } from "../incoming.ts";

/** Handle a PUBREL. */
export function handlePubrel(conn: ClientConnection, packet: AckPacket): void {
  releaseIncoming(conn, packet.packetId);
  conn.send({ type: "pubcomp", packetId: packet.packetId, reasonCode: 0 });
}
