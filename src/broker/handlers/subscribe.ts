/**
 * SUBSCRIBE: add each filter to the router, answer SUBACK with a code per filter, then send
 * the retained messages its retain handling asks for. As Mosquitto 2.0.11 does, the ACL does not
 * refuse a subscription: its read access is checked on every message delivered. A 3.x bridge
 * subscribes with no local and retain as published, which 3.x cannot ask for, as Mosquitto
 * gives them: it neither gets its own messages back nor loses their retain flag.
 *
 * @module
 */

import { isSharedFilter, type QoS, type SubscribePacket } from "../../codec/mod.ts";
import { mayRead, retainSourceMayWrite } from "../access.ts";
import type { ClientConnection } from "../context.ts";
import { deliver } from "../delivery.ts";
import { mountFilter } from "../mount_point.ts";
import type { SubscriptionOptions } from "../session.ts";

/** Handle a SUBSCRIBE. */
export function handleSubscribe(conn: ClientConnection, packet: SubscribePacket): void {
  const broker = conn.broker;
  const session = conn.session!;
  const subscriptionId = packet.properties?.subscriptionIdentifiers?.[0];
  const reasonCodes: QoS[] = [];
  const retainedToSend: SubscriptionOptions[] = [];
  const maxQos = conn.listener.maxQos ?? 2;
  for (const s of packet.subscriptions) {
    const mounted = mountFilter(conn.listener, s.topicFilter); // behind the mount point
    const qos = Math.min(s.qos, maxQos) as QoS; // granted at most max_qos
    const options: SubscriptionOptions = {
      session,
      filter: mounted,
      qos,
      noLocal: s.noLocal || conn.isBridge,
      retainAsPublished: s.retainAsPublished || conn.isBridge,
      retainHandling: s.retainHandling,
      subscriptionId,
    };
    const isNew = broker.sessions.subscribe(options);
    reasonCodes.push(qos);
    broker.log.log("subscribe", `${session.clientId} ${qos} ${mounted}`);
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
    broker.matchRetained(options.filter, (topic, message) => {
      if (!mayRead(broker.options, session, topic)) {
        broker.metrics.aclDenied.read++;
        return;
      }
      if (!retainSourceMayWrite(broker.options, message)) {
        broker.log.debug(
          `Not sending retained message on '${topic}' to ${session.clientId}: its publisher ` +
            `${message.publisherId} may no longer write there (check_retain_source).`,
        );
        return;
      }
      const qos = Math.min(message.qos, options.qos) as QoS;
      const ids = options.subscriptionId !== undefined ? [options.subscriptionId] : undefined;
      deliver(broker, session, message, qos, true, ids); // retain set [MQTT-3.3.1-8]
    });
  }
}
