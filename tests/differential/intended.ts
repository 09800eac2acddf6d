/**
 * The differences we keep on purpose: where Mosquitto 2.0.11 breaks the MQTT specification,
 * Midge keeps the specification. Each entry names its conversation, the clause Mosquitto
 * breaks, the phrase of the README's list of differences that states it, and Midge's whole
 * transcript, which the differential test asserts.
 *
 * @module
 */

import type { ProtocolVersion } from "../../src/codec/mod.ts";
import type { Transcript } from "./harness.ts";

/** One intended difference. */
export interface IntendedDifference {
  /** The conversation's name. */
  conversation: string;
  /** The spec clause Mosquitto breaks there, and how. */
  clause: string;
  /** The phrase of the README's list of differences that states it (shared by a group). */
  readme: string;
  /** What Midge answers instead: its transcript. */
  midge: Transcript;
}

/** Midge's CONNACK, on connection `a`, to the scripts' plain CONNECT of each version. */
const CONNACK: Record<ProtocolVersion, string> = {
  3: "a< 20 02 00 00",
  4: "a< 20 02 00 00",
  5: "a< 20 09 00 00 06 22 00 0a 21 00 14",
};

/** The transcript of a CONNECT answered by CONNACK, then a packet that closes the connection. */
function closedAfterConnack(version: ProtocolVersion): Transcript {
  return ["#1", CONNACK[version], "#2", "a closed after frame 1"];
}

/** The transcript of a CONNECT, then a packet answered by DISCONNECT `reasonCode` and a close. */
function disconnectedAfterConnack(reasonCode: string): Transcript {
  return ["#1", CONNACK[5], "#2", `a< e0 01 ${reasonCode}`, "a closed after frame 2"];
}

/** The protocol version a conversation's name gives: its ` (vN)` ending or its `vN ` start. */
function versionOf(conversation: string): ProtocolVersion {
  const match = /\(v(\d)\)$|^v(\d) /.exec(conversation);
  return Number(match?.[1] ?? match?.[2]) as ProtocolVersion;
}

const WILL_DELAY = "a will waits for its delay only while the session lasts";
const CLIENT_MAXIMUM_PUBLISH =
  "an outgoing PUBLISH over the client's maximum is dropped, counting the fixed header";
const CLIENT_MAXIMUM_ACKS = "a SUBACK or UNSUBACK over the client's maximum is dropped";
const BROKER_MAXIMUM =
  "a packet over `max_packet_size` closes the connection, counting the fixed header";
const TAKEOVER = "on takeover the old 5.0 connection gets DISCONNECT 0x8E before the close";
const MALFORMED =
  "reserved flag bits, or a remaining length wrong for the packet or (5.0) not minimally encoded, close the connection";
const ACK_CODE = "an ack with a reason code its packet type does not have closes the connection";
const NO_LOCAL_SHARED = "no local on a shared subscription is a protocol error";
const SHARE_NAME = "a 5.0 shared subscription needs a share name and a filter";
const PUBLISH_SUBSCRIPTION_ID =
  "a client PUBLISH carrying a subscription identifier is a protocol error";
const SERVER_PACKETS =
  "a SUBACK, UNSUBACK or PINGRESP from a 3.1.1 or 5.0 client closes the connection";
const SHARED_RETAINED = "a new shared subscription gets no retained messages";
const OVERLAP_QOS =
  "a 3.1.1 client's one copy of a message matching several of its subscriptions has the highest of their QoS";
const RECEIVE_MAXIMUM = "a QoS 2 PUBLISH past the 5.0 receive maximum gets DISCONNECT 0x93";

/** Every packet a 3.1.1 or 5.0 client sent that only a server may send, by conversation. */
const SERVER_PACKET_CONVERSATIONS = [
  "fixture: SUBACK 3.1.1 (v4)",
  "fixture: SUBACK 3.1.1 failure (v4)",
  "fixture: SUBACK 3.1.1 return code 0x87 does not exist (v4)",
  "fixture: SUBACK 5.0 granted QoS 2 and not authorised (v5)",
  "fixture: SUBACK 5.0 with a reason string (v5)",
  "fixture: SUBACK 5.0 reason code 0x04 is not a SUBACK code (v5)",
  "fixture: UNSUBACK 3.1.1 (v4)",
  "fixture: UNSUBACK 3.1.1 with an extra byte (v4)",
  "fixture: UNSUBACK 5.0 success and no subscription existed (v5)",
  "fixture: UNSUBACK 5.0 reason code 0x10 is not an UNSUBACK code (v5)",
  "fixture: UNSUBACK 5.0 without reason codes (v5)",
  "fixture: PINGRESP 5.0 (v5)",
  "v4 PINGRESP from a client",
];

/** Every intended difference. */
export const INTENDED_DIFFERENCES: readonly IntendedDifference[] = [
  {
    conversation: "v5 will delay 2 s, session expiry 0",
    readme: WILL_DELAY,
    clause:
      "[MQTT-3.1.2-8] (5.0 §3.1.2.5, §3.1.3.2.2): the will goes once the connection is closed and either the Will Delay Interval has passed or the Session has ended, whichever is first; with session expiry 0 the session ends at the close, so Midge publishes at once; Mosquitto waits the full delay",
    midge: [
      "#1",
      "w< 20 09 00 00 06 22 00 0a 21 00 14",
      "#2",
      "w< 90 04 00 01 00 00",
      "#3",
      "a< 20 09 00 00 06 22 00 0a 21 00 14",
      "#4",
      "w< 30 0d 00 06 64 65 6c 61 79 30 00 67 6f 6e 65",
      "#5",
      "w open",
    ],
  },
  {
    conversation: "v5 client maximum packet size 20: PUBLISH of 20, 21 and 30 bytes",
    readme: CLIENT_MAXIMUM_PUBLISH,
    clause:
      "[MQTT-3.1.2-24] / [MQTT-3.1.2-25]: the Server MUST NOT send a packet over the client's Maximum Packet Size and MUST discard one that is too large; the size is the whole packet, fixed header included (§2.1.4); Mosquitto counts without the fixed header and sends the 21-byte PUBLISH",
    midge: [
      "#1",
      "b< 20 09 00 00 06 22 00 0a 21 00 14",
      "#2",
      "b< 90 04 00 01 00 00",
      "#3",
      "a< 20 09 00 00 06 22 00 0a 21 00 14",
      "#4",
      "b< 30 12 00 05 6d 70 73 2f 74 00 78 78 78 78 78 78 78 78 78 78",
      "#5",
      "#6",
      "a open",
      "b open",
    ],
  },
  {
    conversation: "v5 client maximum packet size 20: SUBACK and UNSUBACK of 20 and 21 bytes",
    readme: CLIENT_MAXIMUM_ACKS,
    clause:
      "[MQTT-3.1.2-24]: the Server MUST NOT send a packet over the client's Maximum Packet Size (the whole packet, §2.1.4); Mosquitto sends the 21-byte SUBACK and UNSUBACK",
    midge: [
      "#1",
      CONNACK[5],
      "#2",
      "a< 90 12 00 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
      "#3",
      "a< b0 12 00 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
      "#4",
      "#5",
      "#6",
      "a< d0 00",
      "a open",
    ],
  },
  {
    conversation: "v5 PUBLISH of 101 bytes, broker maximum 100",
    readme: BROKER_MAXIMUM,
    clause:
      "[MQTT-3.2.2-15] (§3.2.2.3.6): a packet over the Maximum Packet Size the Server announced in CONNACK (100) is a Protocol Error, DISCONNECT 0x95; the size is the whole packet (§2.1.4); Mosquitto accepts one byte over",
    midge: [
      "#1",
      "a< 20 0e 00 00 0b 22 00 0a 27 00 00 00 64 21 00 14",
      "#2",
      "a< e0 01 95",
      "#3",
      "a closed after frame 2",
    ],
  },
  ...([3, 4] as const).map((version) => ({
    conversation: `v${version} PUBLISH of 101 bytes, broker maximum 100`,
    readme: BROKER_MAXIMUM,
    clause:
      '3.1 and 3.1.1 know no Maximum Packet Size, so the option keeps its one meaning in every version: the whole packet, as 5.0 §2.1.4 counts it and as Mosquitto\'s own mosquitto.conf(5) says ("applies to the full MQTT packet"); Mosquitto accepts one byte over',
    midge: ["#1", CONNACK[version], "#2", "#3", "a closed after frame 1"],
  })),
  ...["both sessions clean", "both sessions persistent"].map((sessions) => ({
    conversation: `v5 will on takeover, ${sessions}`,
    readme: TAKEOVER,
    clause:
      "[MQTT-3.1.4-3]: when the ClientID is already connected, the Server sends the existing Client DISCONNECT 0x8E (Session taken over) and MUST close its connection; Mosquitto closes without the DISCONNECT",
    midge: [
      "#1",
      "w< 20 09 00 00 06 22 00 0a 21 00 14",
      "#2",
      "w< 90 04 00 01 00 00",
      "#3",
      "a< 20 09 00 00 06 22 00 0a 21 00 14",
      "#4",
      "a< e0 01 8e",
      ...(sessions === "both sessions clean"
        ? [
          "b< 20 09 00 00 06 22 00 0a 21 00 14",
          "w< 30 10 00 09 74 61 6b 65 63 6c 65 61 6e 00 67 6f 6e 65",
          "a closed after frame 2",
          "b open",
        ]
        : [
          "b< 20 09 01 00 06 22 00 0a 21 00 14",
          "#5",
          "a closed after frame 2",
          "b closed after frame 1",
        ]),
      "w open",
    ],
  })),
  ...[
    {
      conversation: "fixture: PUBACK reserved flags [MQTT-2.1.3-1] (v5)",
      clause:
        "[MQTT-2.1.3-1]: reserved flag bits MUST have their listed values, else the packet is malformed, and [MQTT-4.13.1-1] the Server MUST close; Mosquitto ignores the PUBACK",
    },
    {
      conversation: "v5 PINGREQ with reserved flags",
      clause:
        "[MQTT-2.1.3-1]: reserved flag bits MUST have their listed values, else the packet is malformed, and [MQTT-4.13.1-1] the Server MUST close; Mosquitto answers PINGRESP",
    },
    {
      conversation: "v5 remaining length not minimally encoded",
      clause:
        "[MQTT-1.5.5-1]: a Variable Byte Integer MUST use the fewest bytes, so 80 00 for 0 makes a Malformed Packet, and [MQTT-4.13.1-1] the Server MUST close; Mosquitto answers the PINGREQ",
    },
    {
      conversation: "fixture: PINGREQ reserved flags [MQTT-2.1.3-1] (v4)",
      clause:
        "[MQTT-2.2.2-2] (3.1.1): on invalid flags the receiver MUST close the connection; Mosquitto answers PINGRESP",
    },
    {
      conversation: "fixture: PINGREQ with a body (v4)",
      clause:
        "3.1.1 §3.12.1: PINGREQ has no variable header or payload (remaining length 0); one that breaks the format is a protocol violation, which [MQTT-4.8.0-1] MUST close the connection; Mosquitto answers PINGRESP",
    },
    {
      conversation: "fixture: PUBACK 3.1.1 with a reason code byte (v4)",
      clause:
        "3.1.1 §3.4.1: the remaining length of a PUBACK is 2; another one is a protocol violation, which [MQTT-4.8.0-1] MUST close the connection; Mosquitto ignores it",
    },
  ].map(({ conversation, clause }) => ({
    conversation,
    clause,
    readme: MALFORMED,
    midge: closedAfterConnack(versionOf(conversation)),
  })),
  {
    conversation: "fixture: PUBACK 5.0 reason code 0x92 belongs to PUBREL and PUBCOMP (v5)",
    readme: ACK_CODE,
    clause:
      "[MQTT-3.4.2-1]: the sender of a PUBACK MUST use one of the PUBACK Reason Codes (§3.4.2.1), and 0x92 is not one, so the packet is malformed and [MQTT-4.13.1-1] the Server MUST close; Mosquitto ignores it",
    midge: closedAfterConnack(5),
  },
  {
    conversation: "v5 $share with an empty share name, or no filter",
    readme: SHARE_NAME,
    clause:
      "[MQTT-4.8.2-1] [MQTT-4.8.2-2]: a ShareName is at least one character and MUST be followed by '/' and a Topic Filter, so '$share//a', '$share/g' and '$share/g/' break the SUBSCRIBE's format (then [MQTT-4.13.1-1] close); Mosquitto grants them to 5.0 clients (3.1 and 3.1.1 define no shared subscriptions: there Midge grants them as Mosquitto does)",
    midge: [
      "#1",
      CONNACK[5].replace("a<", "b<"),
      "#2",
      "b< e0 01 81",
      "#3",
      CONNACK[5].replace("a<", "c<"),
      "#4",
      "c< e0 01 81",
      "#5",
      CONNACK[5],
      "#6",
      "#7",
      "#8",
      "#9",
      "a< d0 00",
      "a open",
      "b closed after frame 2",
      "c closed after frame 2",
    ],
  },
  {
    conversation: "fixture: SUBSCRIBE 5.0 no local on a shared subscription [MQTT-3.8.3-4] (v5)",
    readme: NO_LOCAL_SHARED,
    clause:
      "[MQTT-3.8.3-4]: No Local set on a Shared Subscription is a Protocol Error (then [MQTT-4.13.1-1] close); Mosquitto grants it",
    midge: disconnectedAfterConnack("82"),
  },
  {
    conversation: "fixture: PUBLISH 5.0 subscription identifier 0 (v5)",
    readme: PUBLISH_SUBSCRIPTION_ID,
    clause:
      "[MQTT-3.3.4-6]: a PUBLISH from a Client MUST NOT contain a Subscription Identifier (and 0 is a Protocol Error, §3.3.2.3.8); Mosquitto accepts it",
    midge: disconnectedAfterConnack("81"),
  },
  {
    conversation: "fixture: PUBLISH 5.0 QoS 1 with every message property (v5)",
    readme: PUBLISH_SUBSCRIPTION_ID,
    clause:
      "[MQTT-3.3.4-6]: a PUBLISH from a Client MUST NOT contain a Subscription Identifier (this one carries 0x0b 5); Mosquitto accepts it and answers PUBACK 0x10",
    midge: disconnectedAfterConnack("82"),
  },
  ...SERVER_PACKET_CONVERSATIONS.map((conversation) => ({
    conversation,
    readme: SERVER_PACKETS,
    clause:
      "the packet type goes only from Server to Client (3.1.1 §2.2.1, 5.0 §2.1.2), so receiving it is a protocol violation that MUST close the connection, [MQTT-4.8.0-1] (3.1.1) / [MQTT-4.13.1-1] (5.0); Mosquitto ignores it",
    midge: closedAfterConnack(versionOf(conversation)),
  })),
  {
    conversation: "v4 overlapping subscriptions, the first matched at the lower QoS",
    readme: OVERLAP_QOS,
    clause:
      "[MQTT-3.3.5-1] (3.1.1): with overlapping subscriptions the Server MUST deliver the message respecting the maximum QoS of all the matching subscriptions; Mosquitto sends its one copy at the QoS of the first it matched (0 here)",
    midge: [
      "#1",
      CONNACK[4],
      "#2",
      "a< 90 03 00 01 00",
      "#3",
      "a< 90 03 00 01 01",
      "#4",
      "a< 32 0e 00 09 6f 76 65 72 6c 6f 77 2f 74 00 01 70",
      "a< 40 02 00 09",
      "#5",
      "a open",
    ],
  },
  {
    conversation: "v5 shared subscription: no retained message",
    readme: SHARED_RETAINED,
    clause:
      "5.0 §3.3.1.3: retained messages are sent when a new Non-shared Subscription is made, as its Retain Handling directs; Mosquitto sends them to a new shared subscription too",
    midge: [
      "#1",
      CONNACK[5],
      "#2",
      "#3",
      "a< 90 04 00 01 00 00",
      "#4",
      "a< 30 0e 00 0b 73 68 61 72 65 64 72 65 74 2f 74 00",
      "a open",
    ],
  },
  {
    conversation: "v5 QoS 2 PUBLISH past the receive maximum",
    readme: RECEIVE_MAXIMUM,
    clause:
      "[MQTT-3.3.4-7] with §3.3.4 and §4.9: a Client MUST NOT have more unanswered QoS 1 and 2 PUBLISH packets than the Server's Receive Maximum (20), and a Server that receives more uses DISCONNECT 0x93 (Receive Maximum exceeded); Mosquitto answers PUBREC 0x97 and carries on",
    midge: [
      "#1",
      CONNACK[5],
      "#2",
      ...Array.from(
        { length: 20 },
        (_, i) => `a< 50 02 00 ${(i + 1).toString(16).padStart(2, "0")}`,
      ),
      "a< e0 01 93",
      "a closed after frame 22",
    ],
  },
];
