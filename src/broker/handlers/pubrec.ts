/**
 * PUBREC: the client has a QoS 2 message we sent; answer PUBREL and await PUBCOMP. A 5.0
 * PUBREC with a failure reason ends the exchange [MQTT-4.3.3-4].
 *
 * @module
 */

import { type AckPacket, protocolError } from "../../codec/mod.ts";
import type { ClientConnection } from "../context.ts";
import { fillInflight } from "../delivery.ts";

/**
 * Handle a PUBREC. As Mosquitto does: an unknown packet id still gets PUBREL (reason 0x00)
 * unless the PUBREC reports a failure, and a repeated PUBREC gets PUBREL again; a PUBREC for
 * a QoS 1 message, or a failure after PUBREL was sent, is a protocol error.
 */
export function handlePubrec(conn: ClientConnection, packet: AckPacket): void {
  const session = conn.session!;
  const { packetId, reasonCode } = packet;
  const outgoing = session.inflight.get(packetId);
  const failed = reasonCode >= 0x80;
  if (outgoing === undefined) {
    conn.broker.log.debug(`Received PUBREC from ${conn.clientId} for unknown id ${packetId}`);
    if (!failed) conn.send({ type: "pubrel", packetId, reasonCode: 0 });
    return;
  }
  if (outgoing.qos !== 2) throw protocolError(`PUBREC for QoS 1 message ${packetId}`);
  const observer = conn.broker.observer;
  if (failed) {
    if (outgoing.state === "pubrel") {
      throw protocolError(`PUBREC with reason ${reasonCode} for message ${packetId} after PUBREL`);
    }
    session.deleteInflight(packetId);
    observer.done(session, outgoing);
    fillInflight(conn.broker, conn, session);
    return;
  }
  if (outgoing.state === "publish") {
    outgoing.state = "pubrel";
    // PUBREL only once "pubrel" is stored (the dispatcher holds it): resending the PUBLISH
    // after a crash would deliver it twice.
    observer.released(session, outgoing);
  }
  conn.send({ type: "pubrel", packetId, reasonCode: 0 });
}
