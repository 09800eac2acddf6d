/**
 * DISCONNECT from a client: a normal end. The will is discarded unless the reason is 0x04
 * [MQTT-3.14.4-3]; a 5.0 client may change its session expiry, but not from 0 (MQTT 5.0 §3.14.2.2.2).
 *
 * @module
 */

import { type DisconnectPacket, protocolError, ReasonCode } from "../../codec/mod.ts";
import type { ClientConnection } from "../context.ts";

/** Handle a client's DISCONNECT. */
export function handleDisconnect(conn: ClientConnection, packet: DisconnectPacket): void {
  const session = conn.session!;
  const expiry = packet.properties?.sessionExpiryInterval;
  if (expiry !== undefined) {
    if (session.expiryInterval === 0 && expiry !== 0) {
      throw protocolError(
        "DISCONNECT sets a session expiry after CONNECT set 0 (MQTT 5.0 §3.14.2.2.2)",
      );
    }
    session.expiryInterval = expiry;
  }
  conn.publishWillOnClose = packet.reasonCode === ReasonCode.DisconnectWithWillMessage;
  conn.close("disconnect");
}
