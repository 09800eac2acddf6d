/**
 * The fan-out's hot path: `route` merging and handing over one message to many subscribers
 * (offline sessions without a QoS 0 queue, so delivery itself stops at its first check).
 */

import { Broker } from "../../src/broker/broker.ts";
import { newMessage } from "../../src/broker/message.ts";
import { defaultBrokerOptions } from "../../src/broker/options.ts";
import { Session, type SubscriptionOptions } from "../../src/broker/session.ts";

const broker = new Broker(defaultBrokerOptions());

function subscribe(session: Session, filter: string, subscriptionId?: number): void {
  const options: SubscriptionOptions = {
    session,
    filter,
    qos: 1,
    noLocal: false,
    retainAsPublished: false,
    retainHandling: 0,
    subscriptionId,
  };
  broker.sessions.subscribe(options);
}

for (let i = 0; i < 1000; i++) {
  const session = new Session(`c${i}`, 5, 3600);
  broker.sessions.add(session);
  subscribe(session, "fan/out");
  // Every tenth client overlaps: two more filters match, each a copy with its identifier (5.0).
  if (i % 10 === 0) {
    subscribe(session, "fan/+", 1);
    subscribe(session, "fan/#", 2);
  }
}
const one = new Session("one", 5, 3600);
broker.sessions.add(one);
subscribe(one, "one/topic");

const toMany = newMessage("fan/out", new Uint8Array(64), 0, false, "pub");
const toOne = newMessage("one/topic", new Uint8Array(64), 0, false, "pub");

Deno.bench("route: 1 message to 1 subscriber", { group: "route" }, () => {
  broker.fanOut.route(toOne);
});

Deno.bench("route: 1 message to 1,000 subscribers (100 overlapping)", { group: "route" }, () => {
  broker.fanOut.route(toMany);
});
