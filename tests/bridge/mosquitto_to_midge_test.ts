/**
 * Debian's Mosquitto 2.0.11 bridged to a Midge process, with Mosquitto's defaults (so
 * `try_private`: a 3.x bridge CONNECT carries the bridge bit): messages cross in each
 * direction, with prefixes, at each QoS, retained; the notification topic on Midge follows the
 * link; a message on a `both` topic does not come back. One test per bridge protocol version.
 * The end clients are raw 3.1.1 clients, which show each delivery's QoS and retain flag.
 */

import assert from "node:assert/strict";
import type { PublishPacket, QoS } from "../../src/codec/mod.ts";
import { connect, type RawClient } from "../integration/harness.ts";
import {
  ackDelivery,
  payloadText,
  pub,
  publishAcked,
  sub,
  subscribe,
} from "../integration/pubsub_helpers.ts";
import { interopTest } from "../interop/helpers.ts";
import { BRIDGE_PEERS, type BrokerProcess, startMidge, startMosquitto } from "./fixtures.ts";

/** The bridge's client id on Midge, which names its notification topic there. */
const BRIDGE_ID = "mq-bridge";
const STATE_TOPIC = `$SYS/broker/connection/${BRIDGE_ID}/state`;

/** How long a test waits, after the messages it expects, for any that must not come. */
const QUIET_MS = 500;

/** The `connection` block's topic lines: plain in, out and both, and prefixed in and out. */
const TOPIC_LINES = [
  "topic out/# out 2",
  "topic in/# in 2",
  "topic both/# both 2",
  "topic # out 1 mq/ midge/",
  "topic # in 1 mq-in/ midge-in/",
];

/** Midge's line for the bridge's last subscription: the bridge is up once it is logged. */
const LAST_REMOTE_SUBSCRIPTION = new RegExp(`${BRIDGE_ID} 1 midge-in/#`);

/** Midge, and Mosquitto bridged to it with `bridge_protocol_version` `protocol`. */
async function startBridgedPair(
  protocol: string,
  started: BrokerProcess[],
): Promise<{ midge: BrokerProcess; mosquitto: BrokerProcess }> {
  const midge = await startMidge("");
  started.push(midge);
  const mosquitto = await startMosquitto([
    "connection to-midge",
    `address 127.0.0.1:${midge.port}`,
    `remote_clientid ${BRIDGE_ID}`,
    `bridge_protocol_version ${protocol}`,
    ...TOPIC_LINES,
  ]);
  started.push(mosquitto);
  await midge.logged(LAST_REMOTE_SUBSCRIPTION);
  return { midge, mosquitto };
}

/** End clients of one test, all closed at its end. */
class Clients {
  #open: RawClient[] = [];

  /** A 3.1.1 client on `broker` subscribed to `filter` at QoS 2. */
  async subscriber(broker: BrokerProcess, filter: string): Promise<RawClient> {
    const client = await this.#connect(broker);
    await subscribe(client, sub(filter, 2));
    return client;
  }

  /** Publish one message to `broker` from a client of its own, completing its QoS flow. */
  async publish(broker: BrokerProcess, message: PublishPacket): Promise<void> {
    const client = await this.#connect(broker);
    await publishAcked(client, { ...message, packetId: message.qos > 0 ? 1 : undefined });
  }

  async #connect(broker: BrokerProcess): Promise<RawClient> {
    const clientId = `end-${this.#open.length}`;
    const { client, connack } = await connect(broker.port, { clientId });
    this.#open.push(client);
    assert.equal(connack.reasonCode, 0);
    return client;
  }

  async close(): Promise<void> {
    for (const client of this.#open) await client.close();
  }
}

/** The next PUBLISH `client` gets (within 5 s), acknowledged as its QoS asks. */
async function received(client: RawClient): Promise<PublishPacket> {
  const p = await client.expect("publish", 5000);
  await ackDelivery(client, p);
  return p;
}

/** Topic, payload, QoS and retain flag of a PUBLISH, for one comparison. */
function summary(p: PublishPacket): [string, string, QoS, boolean] {
  return [p.topic, payloadText(p), p.qos, p.retain];
}

/** The brokers of one test and its end clients. */
interface Scene {
  midge: BrokerProcess;
  mosquitto: BrokerProcess;
  clients: Clients;
}

async function messagesCross({ midge, mosquitto, clients }: Scene): Promise<void> {
  const onMidge = await clients.subscriber(midge, "out/#");
  const onMosquitto = await clients.subscriber(mosquitto, "in/#");
  for (const qos of [0, 1, 2] as QoS[]) {
    await clients.publish(mosquitto, pub(`out/q${qos}`, "out", { qos }));
    assert.deepEqual(summary(await received(onMidge)), [`out/q${qos}`, "out", qos, false]);
    await clients.publish(midge, pub(`in/q${qos}`, "in", { qos }));
    assert.deepEqual(summary(await received(onMosquitto)), [`in/q${qos}`, "in", qos, false]);
  }
  // Prefixes remapped both ways, QoS capped at the topic line's 1.
  const prefixedOnMidge = await clients.subscriber(midge, "midge/#");
  await clients.publish(mosquitto, pub("mq/p", "prefixed out", { qos: 2 }));
  assert.deepEqual(summary(await received(prefixedOnMidge)), ["midge/p", "prefixed out", 1, false]);
  const prefixedOnMosquitto = await clients.subscriber(mosquitto, "mq-in/#");
  await clients.publish(midge, pub("midge-in/p", "prefixed in", { qos: 2 }));
  assert.deepEqual(summary(await received(prefixedOnMosquitto)), [
    "mq-in/p",
    "prefixed in",
    1,
    false,
  ]);
}

async function retainedCross({ midge, mosquitto, clients }: Scene): Promise<void> {
  const crossings: [BrokerProcess, BrokerProcess, string][] = [
    [midge, mosquitto, "in/kept"],
    [mosquitto, midge, "out/kept"],
  ];
  for (const [from, to, topic] of crossings) {
    // Live first, so that the bridge forwards it as it is; then a late subscriber gets it as
    // retained from the far side's broker.
    const live = await clients.subscriber(to, topic);
    await clients.publish(from, pub(topic, "kept", { qos: 1, retain: true }));
    await received(live);
    const late = await clients.subscriber(to, topic);
    assert.deepEqual(summary(await received(late)), [topic, "kept", 1, true]);
  }
}

async function bothWithoutLoop({ midge, mosquitto, clients }: Scene): Promise<void> {
  const onMidge = await clients.subscriber(midge, "both/#");
  const onMosquitto = await clients.subscriber(mosquitto, "both/#");
  for (const [from, topic] of [[mosquitto, "both/m"], [midge, "both/n"]] as const) {
    await clients.publish(from, pub(topic, "once", { qos: 1 }));
    for (const side of [onMidge, onMosquitto]) {
      assert.deepEqual(summary(await received(side)), [topic, "once", 1, false]);
    }
    // Had Midge sent it back over the bridge, Mosquitto's subscriber would get a second copy.
    await onMosquitto.expectNothing(QUIET_MS);
    await onMidge.expectNothing(0);
  }
}

async function notificationFollowsTheLink({ midge, mosquitto, clients }: Scene): Promise<void> {
  const watcher = await clients.subscriber(midge, STATE_TOPIC);
  assert.deepEqual(summary(await received(watcher)), [STATE_TOPIC, "1", 1, true]);
  await mosquitto.kill(); // SIGKILL: its will on Midge says the link is down
  assert.deepEqual(summary(await received(watcher)).slice(0, 2), [STATE_TOPIC, "0"]);
  const late = await clients.subscriber(midge, STATE_TOPIC);
  assert.deepEqual(summary(await received(late)), [STATE_TOPIC, "0", 1, true]);
}

for (const protocol of ["mqttv31", "mqttv311", "mqttv50"]) {
  interopTest({
    name: `Mosquitto 2.0.11 bridged to Midge (${protocol}, try_private): in, out, both, ` +
      "prefixes, QoS 0/1/2, retained, no loop, notification state 1 then 0",
    needs: BRIDGE_PEERS,
    async fn() {
      const started: BrokerProcess[] = [];
      const clients = new Clients();
      try {
        const { midge, mosquitto } = await startBridgedPair(protocol, started);
        const scene = { midge, mosquitto, clients };
        await messagesCross(scene);
        await retainedCross(scene);
        await bothWithoutLoop(scene);
        await notificationFollowsTheLink(scene);
      } catch (error) {
        const logs = await Promise.all(started.map((broker) => broker.log()));
        throw new Error(`${error}\n${logs.join("\n---\n")}`, { cause: error });
      } finally {
        await clients.close();
        for (const broker of started.reverse()) await broker.stop();
      }
    },
  });
}
