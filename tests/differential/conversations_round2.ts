/**
 * Conversations of the second round of differences: `$share/` filters a 3.1 or 3.1.1 client may
 * give (an empty share name, no filter), where the hop's properties go among those forwarded,
 * a subscriber that accepts topic aliases, `max_keepalive` against each protocol version, and a
 * will on a topic the ACL denies (each of the last two in its own configuration).
 *
 * @module
 */

import type { ProtocolVersion } from "../../src/codec/mod.ts";
import { text } from "../fixtures/packets.ts";
import { connect, PINGREQ, publish, subscribe } from "./build.ts";
import type { Conversation } from "./harness.ts";

/**
 * Subscribers of `$share//a`, `$share/g` and `$share/g/`, then messages to `a` and `g`; 5.0
 * keeps [MQTT-4.8.2-1] [MQTT-4.8.2-2] (see open.ts).
 */
export const SHARE_CONVERSATIONS: readonly Conversation[] = ([3, 4, 5] as const).map((v) => ({
  name: `v${v} $share with an empty share name, or no filter`,
  steps: [
    { send: connect(v, `share-b-${v}`), on: "b" },
    { send: subscribe(v, ["$share//a", "$share/g", "$share/g/"]), on: "b" },
    { send: connect(v, `share-c-${v}`), on: "c" },
    { send: subscribe(v, "$share//a"), on: "c" },
    { send: connect(v, `share-a-${v}`) },
    { send: publish(v, "a", "1") },
    { send: publish(v, "a", "2") },
    { send: publish(v, "g", "3") },
    { send: PINGREQ },
  ],
}));

/**
 * A subscriber with a subscription identifier gets a message with interleaved user properties
 * and an expiry (the identifier goes first, the expiry last); then a retained one (no expiry:
 * Mosquitto counts it in whole seconds of its clock) goes to a new subscriber.
 */
export const HOP_PROPERTY_CONVERSATIONS: readonly Conversation[] = [{
  name: "v5 subscription identifier and expiry among interleaved properties",
  steps: [
    { send: connect(5, "hop-b"), on: "b" },
    { send: "82 0d 00 01 02 0b 07 00 05 68 6f 70 2f 23 00", on: "b" }, // hop/# with id 7
    { send: connect(5, "hop-a") },
    {
      // user k=1, expiry 3600, content type, user k=2
      send: "30 20 00 05 68 6f 70 2f 74 17 26 00 01 6b 00 01 31 02 00 00 0e 10 03 00 01 63" +
        " 26 00 01 6b 00 01 32 70",
    },
    // retained: user k=1, content type, user k=2
    {
      send:
        "31 1b 00 05 68 6f 70 2f 74 12 26 00 01 6b 00 01 31 03 00 01 63 26 00 01 6b 00 01 32 72",
    },
    { send: connect(5, "hop-c"), on: "c" },
    { send: "82 0d 00 01 02 0b 09 00 05 68 6f 70 2f 23 00", on: "c" }, // the retained one
    { send: "31 08 00 05 68 6f 70 2f 74 00" }, // clears it
  ],
}];

/**
 * A 5.0 subscriber that accepts topic aliases (maximum 10) gets two messages on one topic:
 * Mosquitto 2.0 sends the topic name each time, never an alias.
 */
export const OUTBOUND_ALIAS_CONVERSATIONS: readonly Conversation[] = [{
  name: "v5 subscriber with topic alias maximum 10, two messages on one topic",
  steps: [
    { send: connect(5, "alias-b", { properties: { topicAliasMaximum: 10 } }), on: "b" },
    { send: subscribe(5, "alias/t", { qos: 1 }), on: "b" },
    { send: connect(5, "alias-a") },
    { send: publish(5, "alias/t", "1") },
    { send: publish(5, "alias/t", "2", { qos: 1 }) },
    { send: PINGREQ },
  ],
}];

/** The configuration of `KEEPALIVE_CONVERSATIONS`. */
export const KEEPALIVE_CONF = "max_keepalive 30";

/** A CONNECT asking keep alive 60, 30 and 0 of each version, against `max_keepalive 30`. */
export const KEEPALIVE_CONVERSATIONS: readonly Conversation[] = ([3, 4, 5] as const).flatMap((
  v,
) =>
  [60, 30, 0].map((keepAlive) => ({
    name: `v${v} keep alive ${keepAlive}, max_keepalive 30`,
    steps: [{ send: connect(v, `keepalive-${v}-${keepAlive}`, { keepAlive }) }, {
      send: PINGREQ,
    }],
  }))
);

/** The configuration of `WILL_ACL_CONVERSATIONS`: anonymous clients may only read `denied/`. */
export const WILL_ACL_CONF = `acl_file ${new URL("./round2.acl", import.meta.url).pathname}`;

function willOn(v: ProtocolVersion, topic: string): Conversation {
  return {
    name: `v${v} will on ${topic}, ACL ${topic.startsWith("ok") ? "allows" : "denies"} it`,
    steps: [
      { send: connect(v, `aclwill-w-${v}-${topic}`), on: "w" },
      { send: subscribe(v, topic), on: "w" },
      {
        send: connect(v, `aclwill-${v}-${topic}`, {
          will: { topic, payload: text("gone"), qos: 0, retain: false },
        }),
      },
      { close: "a" },
      { send: PINGREQ, on: "w" },
    ],
  };
}

/** A SUBSCRIBE to a filter the ACL gives no read access to (Mosquitto grants it). */
function subscribeUnreadable(v: ProtocolVersion): Conversation {
  return {
    name: `v${v} SUBSCRIBE to a filter the ACL does not let read`,
    steps: [{ send: connect(v, `aclsub-${v}`) }, { send: subscribe(v, "secret/t") }],
  };
}

/**
 * A will on a topic the ACL denies, and one it allows, each watched by a reader; a SUBSCRIBE
 * the ACL does not allow.
 */
export const WILL_ACL_CONVERSATIONS: readonly Conversation[] = ([3, 4, 5] as const).flatMap((
  v,
) => [willOn(v, "denied/t"), willOn(v, "ok/t"), subscribeUnreadable(v)]);
