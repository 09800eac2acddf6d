/**
 * SUBSCRIBE: add each filter to the router, answer SUBACK with a code per filter, then send
 * the retained messages its retain handling asks for.
 *
 * @module
 */

import { isSharedFilter, type QoS, type SubscribePacket } from "../../codec/mod.ts";
import type { Connection } from "../connection.ts";
import { deliver } from "../delivery.ts";
import type { SubscriptionOptions } from "../session.ts";

/** Handle a SUBSCRIBE. */
export function handleSubscribe(conn: Connection, packet: SubscribePacket): void {
  const broker = conn.broker;
  const session = conn.session!;
  const subscriptionId = packet.properties?.subscriptionIdentifiers?.[0];
  const reasonCodes: number[] = [];
  const retainedToSend: SubscriptionOptions[] = [];
  for (const s of packet.subscriptions) {
    const options: SubscriptionOptions = {
      session,
      filter: s.topicFilter,
      qos: s.qos,
      noLocal: s.noLocal,
      retainAsPublished: s.retainAsPublished,
      retainHandling: s.retainHandling,
      subscriptionId,
    };
    const isNew = broker.trie.subscribe(session.clientId, s.topicFilter, options);
    session.setSubscription(s.topicFilter, options);
    reasonCodes.push(s.qos);
    broker.log.log("subscribe", `${session.clientId} ${s.qos} ${s.topicFilter}`);
    // Retained messages: never for shared subscriptions [MQTT-3.8.4-6 note]; by retain
    // handling otherwise [MQTT-3.3.1-9] [MQTT-3.3.1-10] [MQTT-3.3.1-11].
    if (
      !isSharedFilter(s.topicFilter) &&
      (s.retainHandling === 0 || (s.retainHandling === 1 && isNew))
    ) {
      retainedToSend.push(options);
    }
  }
  conn.send({ type: "suback", packetId: packet.packetId, reasonCodes });
  for (const options of retainedToSend) {
    broker.retained.match(options.filter, (_topic, message) => {
      const qos = Math.min(message.qos, options.qos) as QoS;
      const ids = options.subscriptionId !== undefined ? [options.subscriptionId] : undefined;
      deliver(broker, session, message, qos, true, ids); // retain set [MQTT-3.3.1-8]
    });
  }
}
