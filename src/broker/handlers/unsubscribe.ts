/**
 * UNSUBSCRIBE: remove each filter and answer UNSUBACK; 5.0 says per filter whether there was a
 * subscription [MQTT-3.11.3-1].
 *
 * @module
 */

import { ReasonCode, type UnsubscribePacket } from "../../codec/mod.ts";
import type { ClientConnection } from "../context.ts";
import { mountFilter } from "../mount_point.ts";

/** Handle an UNSUBSCRIBE. */
export function handleUnsubscribe(conn: ClientConnection, packet: UnsubscribePacket): void {
  const broker = conn.broker;
  const session = conn.session!;
  const reasonCodes = packet.topicFilters.map((written) => {
    const filter = mountFilter(conn.listener, written);
    const existed = broker.sessions.unsubscribe(session, filter);
    broker.log.log("unsubscribe", `${session.clientId} ${filter}`);
    return existed ? 0 : ReasonCode.NoSubscriptionExisted;
  });
  conn.send({ type: "unsuback", packetId: packet.packetId, reasonCodes });
}
