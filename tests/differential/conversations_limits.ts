/**
 * Conversations about limits and topics: topic depth and length, `$`-topics, properties in and
 * out, the client's Maximum Packet Size, and the broker's `max_packet_size` and `max_qos` (each
 * of those two in its own configuration).
 *
 * @module
 */

import type { ProtocolVersion } from "../../src/codec/mod.ts";
import { ack, connect, PINGREQ, publish, subscribe, unsubscribe } from "./build.ts";
import type { Conversation } from "./harness.ts";

function hexOf(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A 5.0 QoS 0 PUBLISH whose properties are the hex given, in that order. */
function publishWithProperties(topic: string, properties: string, payload: string): string {
  const body = new Uint8Array([
    0,
    topic.length,
    ...new TextEncoder().encode(topic),
    properties.replace(/\s+/g, "").length / 2,
  ]);
  const tail = hexOf(body) + properties.replace(/\s+/g, "") +
    hexOf(new TextEncoder().encode(payload));
  return `30 ${(tail.length / 2).toString(16).padStart(2, "0")} ${tail}`;
}

function levels(count: number): string {
  return Array.from({ length: count }, () => "l").join("/");
}

function topics(v: ProtocolVersion): Conversation[] {
  let count = 0;
  const watched = (name: string, filter: string, topic: string): Conversation => ({
    name: `v${v} ${name}`,
    steps: [
      { send: connect(v, `topic${++count}-b-${v}`), on: "b" },
      { send: subscribe(v, filter), on: "b" },
      { send: connect(v, `topic${count}-a-${v}`) },
      { send: publish(v, topic, "x", { qos: 1 }) },
      { send: PINGREQ },
    ],
  });
  return [
    watched("200 levels", "#", levels(200)),
    watched("201 levels publish", "#", levels(201)),
    watched("202 levels publish", "#", levels(202)),
    watched("65535-byte topic", "#", "t".repeat(65535)),
    watched("$SYS publish", "$SYS/x/y", "$SYS/x/y"),
    watched(
      "$SYS connection state publish",
      "$SYS/broker/connection/+/state",
      "$SYS/broker/connection/br/state",
    ),
    watched("$share publish", "#", "$share/g/t"),
    watched("$-topic not matched by #", "#", "$own/t"),
    watched("$-topic matched by its filter", "$own/#", "$own/t"),
    ...[201, 202].map((count) => ({
      name: `v${v} ${count} levels subscribe`,
      steps: [{ send: connect(v, `deep${count}-${v}`) }, { send: subscribe(v, levels(count)) }, {
        send: PINGREQ,
      }],
    })),
  ];
}

const PROPERTIES: Conversation[] = (() => {
  const relay = (name: string, packet: string, subscriberQos: 0 | 1 = 0): Conversation => ({
    name: `v5 properties: ${name}`,
    steps: [
      { send: connect(5, `props-b`), on: "b" },
      { send: subscribe(5, "props/#", { qos: subscriberQos }), on: "b" },
      { send: connect(5, "props-a") },
      { send: packet },
      { send: PINGREQ },
    ],
  });
  return [
    relay(
      "order kept (user, content type, PFI, response topic, correlation, user)",
      publishWithProperties(
        "props/t",
        "26 00 01 6b 00 01 31  03 00 01 63  01 01  08 00 01 72  09 00 02 01 02  26 00 01 6b 00 01 32",
        "p",
      ),
    ),
    relay("payload format indicator 2", publishWithProperties("props/t", "01 02", "p")),
    relay("message expiry 60", publishWithProperties("props/t", "02 00 00 00 3c", "p")),
    relay(
      "topic alias set then used",
      publishWithProperties("props/t", "23 00 01", "1") +
        publishWithProperties("", "23 00 01", "2"),
    ),
    relay("topic alias 11 over the maximum", publishWithProperties("props/t", "23 00 0b", "p")),
    {
      name: "v5 properties: subscription identifier given to the subscriber",
      steps: [
        { send: connect(5, "subid-b"), on: "b" },
        { send: "82 0f 00 01 02 0b 05 00 07 73 75 62 69 64 2f 74 00", on: "b" },
        { send: connect(5, "subid-a") },
        { send: publish(5, "subid/t", "p") },
      ],
    },
    {
      name: "v5 no local: PUBACK when only the publisher's own subscription matches",
      steps: [
        { send: connect(5, "nolocal") },
        { send: subscribe(5, "nolocal/t", { noLocal: true, qos: 1 }) },
        { send: publish(5, "nolocal/t", "p", { qos: 1 }) },
      ],
    },
    {
      name: "v5 shared subscription: no retained message",
      steps: [
        { send: connect(5, "sharedret") },
        { send: publish(5, "sharedret/t", "kept", { retain: true }) },
        { send: subscribe(5, "$share/g/sharedret/t") },
        { send: publish(5, "sharedret/t", "", { retain: true }) },
      ],
    },
    {
      name: "v5 QoS 1 with no subscriber",
      steps: [{ send: connect(5, "q1none") }, { send: publish(5, "q1none/t", "p", { qos: 1 }) }],
    },
  ];
})();

/** Two subscriptions of one client, QoS 0 and QoS 1, both matching a QoS 1 PUBLISH. */
function overlapping(v: ProtocolVersion): Conversation {
  return {
    name: `v${v} overlapping subscriptions of one client`,
    steps: [
      { send: connect(v, `overlap-${v}`) },
      { send: subscribe(v, "overlap/#", { qos: 0 }) },
      { send: subscribe(v, "overlap/t", { qos: 1 }) },
      { send: publish(v, "overlap/t", "p", { qos: 1, packetId: 9 }) },
      { send: ack(v, "puback", 1) },
    ],
  };
}

/**
 * The same with the first subscription Mosquitto matches (the exact one) at the lower QoS: a
 * 3.x client's one copy shows whose QoS it takes.
 */
function overlappingLowFirst(v: ProtocolVersion): Conversation {
  return {
    name: `v${v} overlapping subscriptions, the first matched at the lower QoS`,
    steps: [
      { send: connect(v, `overlow-${v}`) },
      { send: subscribe(v, "overlow/t", { qos: 0 }) },
      { send: subscribe(v, "overlow/#", { qos: 1 }) },
      { send: publish(v, "overlow/t", "p", { qos: 1, packetId: 9 }) },
      { send: ack(v, "puback", 1) },
    ],
  };
}

/** 5.0 maximum packet size of the client: PUBLISH totals of 20, 21 (remaining 19) and 30. */
const CLIENT_MAXIMUM: Conversation[] = [
  {
    name: "v5 client maximum packet size 20: PUBLISH of 20, 21 and 30 bytes",
    steps: [
      { send: connect(5, "mps-b", { properties: { maximumPacketSize: 20 } }), on: "b" },
      { send: subscribe(5, "mps/t"), on: "b" },
      { send: connect(5, "mps-a") },
      { send: publish(5, "mps/t", "x".repeat(10)) },
      { send: publish(5, "mps/t", "y".repeat(11)) },
      { send: publish(5, "mps/t", "z".repeat(20)) },
    ],
  },
  {
    name: "v5 client maximum packet size 20: SUBACK and UNSUBACK of 20 and 21 bytes",
    steps: [
      { send: connect(5, "mps-acks", { properties: { maximumPacketSize: 20 } }) },
      ...[15, 16].flatMap((count) => {
        const filters = Array.from({ length: count }, (_, i) => `mps/${i}`);
        return [{ send: subscribe(5, filters) }, { send: unsubscribe(5, filters) }];
      }),
      { send: PINGREQ },
    ],
  },
  {
    name: "v5 client maximum packet size 5: the CONNACK does not fit",
    steps: [
      { send: connect(5, "mps5", { properties: { maximumPacketSize: 5 } }) },
      { send: PINGREQ },
    ],
  },
  {
    name: "v5 client maximum packet size 4: a DISCONNECT would not fit",
    steps: [
      { send: connect(5, "mps4", { properties: { maximumPacketSize: 4 } }) },
      { send: "82 02 00 01" },
    ],
  },
];

/** Topics, `$`-topics, properties and the client's maximum packet size; default configuration. */
export const LIMIT_CONVERSATIONS: readonly Conversation[] = [
  ...([3, 4, 5] as const).flatMap(topics),
  ...PROPERTIES,
  ...([3, 4, 5] as const).flatMap((v) => [overlapping(v), overlappingLowFirst(v)]),
  ...CLIENT_MAXIMUM,
];

/** The configuration of `BROKER_MAXIMUM_CONVERSATIONS`. */
export const BROKER_MAXIMUM_CONF = "max_packet_size 100";

/** PUBLISH packets of 100 to 103 bytes against `max_packet_size 100`. */
export const BROKER_MAXIMUM_CONVERSATIONS: readonly Conversation[] = ([3, 4, 5] as const)
  .flatMap((v) => {
    const overhead = 2 + 2 + 3 + 2 + (v === 5 ? 1 : 0); // header, topic length, "m/t", id, props
    return [100, 101, 102, 103].map((size) => ({
      name: `v${v} PUBLISH of ${size} bytes, broker maximum 100`,
      steps: [
        { send: connect(v, `max${size}-${v}`) },
        { send: publish(v, "m/t", "p".repeat(size - overhead), { qos: 1 }) },
        { send: PINGREQ },
      ],
    }));
  });

/** The two spellings of the maximum QoS option, each a configuration of its own. */
export const MAX_QOS_CONFS = ["max_qos 1", "maximum_qos 1"];

/** CONNACK, PUBLISH QoS 2, SUBSCRIBE QoS 2 and a will of QoS 2 against a maximum QoS of 1. */
export const MAX_QOS_CONVERSATIONS: readonly Conversation[] = ([3, 4, 5] as const).flatMap((v) => [
  {
    name: `v${v} max QoS 1: a will of QoS 2`,
    steps: [
      {
        send: connect(v, `maxqos-will-${v}`, {
          will: { topic: "maxqos/will", payload: new Uint8Array(1), qos: 2, retain: false },
        }),
      },
      { send: PINGREQ },
    ],
  },
  {
    name: `v${v} max QoS 1: SUBSCRIBE QoS 2, then a QoS 2 message`,
    steps: [
      { send: connect(v, `maxqos-b-${v}`), on: "b" },
      { send: subscribe(v, "maxqos/t", { qos: 2 }), on: "b" },
      { send: connect(v, `maxqos-a-${v}`) },
      { send: publish(v, "maxqos/t", "p", { qos: 1 }) },
      { send: ack(v, "puback", 1), on: "b" },
      { send: publish(v, "maxqos/t", "p", { qos: 2, packetId: 2 }) },
      { send: PINGREQ },
    ],
  },
]);
