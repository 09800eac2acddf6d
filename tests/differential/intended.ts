/**
 * The differences we keep on purpose: where Mosquitto 2.0.11 breaks the MQTT specification,
 * Midge keeps the specification. Each entry names its conversation and the clause, and gives
 * Midge's whole transcript, which the differential test asserts.
 *
 * @module
 */

import type { Transcript } from "./harness.ts";

/** One intended difference. */
export interface IntendedDifference {
  /** The conversation's name. */
  conversation: string;
  /** The spec clause Mosquitto breaks there, and how. */
  clause: string;
  /** What Midge answers instead: its transcript. */
  midge: Transcript;
}

/** Every intended difference. */
export const INTENDED_DIFFERENCES: readonly IntendedDifference[] = [
  {
    conversation: "v5 will delay 2 s, session expiry 0",
    clause:
      "[MQTT-3.1.3-9] / 3.1.2.5: the will is published when the session ends if that is before the delay; with session expiry 0 the session ends at the close, so Midge publishes at once; Mosquitto waits the full delay",
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
    clause:
      "[MQTT-3.1.2-24]: the server MUST NOT send a packet over the client's Maximum Packet Size, which counts the whole packet; Mosquitto counts without the fixed header and sends the 21-byte PUBLISH",
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
    conversation: "v5 PUBLISH of 101 bytes, broker maximum 100",
    clause:
      "3.2.2.3.6 / [MQTT-3.2.2-15]: a packet over the Maximum Packet Size the server announced (100, in its CONNACK) is a Protocol Error, DISCONNECT 0x95; Mosquitto accepts one byte over",
    midge: [
      "#1",
      "a< 20 0e 00 00 0b 22 00 0a 27 00 00 00 64 21 00 14",
      "#2",
      "a< e0 01 95",
      "#3",
      "a closed after frame 2",
    ],
  },
  {
    conversation: "fixture: PUBACK reserved flags [MQTT-2.1.3-1] (v5)",
    clause:
      "[MQTT-2.1.3-1] / [MQTT-4.13.1-1]: reserved flag bits set make a Malformed Packet, and the connection MUST be closed; Mosquitto ignores the PUBACK",
    midge: ["#1", "a< 20 09 00 00 06 22 00 0a 21 00 14", "#2", "a closed after frame 1"],
  },
  {
    conversation: "fixture: PINGREQ reserved flags [MQTT-2.1.3-1] (v4)",
    clause:
      "[MQTT-2.2.2-2] (3.1.1): invalid flags MUST close the connection; Mosquitto answers PINGRESP",
    midge: ["#1", "a< 20 02 00 00", "#2", "a closed after frame 1"],
  },
  {
    conversation: "fixture: PINGREQ with a body (v4)",
    clause:
      "3.12.1 (remaining length 0) with [MQTT-4.8.0-1]: a protocol violation MUST close the connection; Mosquitto answers PINGRESP",
    midge: ["#1", "a< 20 02 00 00", "#2", "a closed after frame 1"],
  },
  {
    conversation: "fixture: PUBACK 3.1.1 with a reason code byte (v4)",
    clause:
      "3.4.1 (remaining length 2 in 3.1.1) with [MQTT-4.8.0-1]: a protocol violation MUST close the connection; Mosquitto ignores it",
    midge: ["#1", "a< 20 02 00 00", "#2", "a closed after frame 1"],
  },
  {
    conversation: "fixture: PUBACK 5.0 reason code 0x92 belongs to PUBREL and PUBCOMP (v5)",
    clause:
      "3.4.2.1 lists the PUBACK reason codes; another one is a Malformed Packet, [MQTT-4.13.1-1] MUST close; Mosquitto ignores it",
    midge: ["#1", "a< 20 09 00 00 06 22 00 0a 21 00 14", "#2", "a closed after frame 1"],
  },
  {
    conversation: "fixture: SUBSCRIBE 5.0 no local on a shared subscription [MQTT-3.8.3-4] (v5)",
    clause:
      "[MQTT-3.8.3-4]: No Local on a shared subscription is a Protocol Error; Mosquitto grants it",
    midge: [
      "#1",
      "a< 20 09 00 00 06 22 00 0a 21 00 14",
      "#2",
      "a< e0 01 82",
      "a closed after frame 2",
    ],
  },
  {
    conversation: "fixture: PUBLISH 5.0 subscription identifier 0 (v5)",
    clause:
      "[MQTT-3.3.4-6]: a PUBLISH from a client MUST NOT contain a Subscription Identifier (and 0 is a Protocol Error, 3.3.2.3.8); Mosquitto accepts it",
    midge: [
      "#1",
      "a< 20 09 00 00 06 22 00 0a 21 00 14",
      "#2",
      "a< e0 01 81",
      "a closed after frame 2",
    ],
  },
  {
    conversation: "fixture: PUBLISH 5.0 QoS 1 with every message property (v5)",
    clause:
      "[MQTT-3.3.4-6]: a PUBLISH from a client MUST NOT contain a Subscription Identifier (this one carries 0x0b 5); Mosquitto accepts it and answers PUBACK 0x10",
    midge: [
      "#1",
      "a< 20 09 00 00 06 22 00 0a 21 00 14",
      "#2",
      "a< e0 01 82",
      "a closed after frame 2",
    ],
  },
  {
    conversation: "fixture: SUBACK 3.1.1 (v4)",
    clause:
      "a server-to-client packet from a client is a protocol violation: the receiver MUST close the connection [MQTT-4.8.0-1] (3.1.1) / [MQTT-4.13.1-1] (5.0); Mosquitto ignores it",
    midge: ["#1", "a< 20 02 00 00", "#2", "a closed after frame 1"],
  },
  {
    conversation: "fixture: SUBACK 3.1.1 failure (v4)",
    clause:
      "a server-to-client packet from a client is a protocol violation: the receiver MUST close the connection [MQTT-4.8.0-1] (3.1.1) / [MQTT-4.13.1-1] (5.0); Mosquitto ignores it",
    midge: ["#1", "a< 20 02 00 00", "#2", "a closed after frame 1"],
  },
  {
    conversation: "fixture: SUBACK 3.1.1 return code 0x87 does not exist (v4)",
    clause:
      "a server-to-client packet from a client is a protocol violation: the receiver MUST close the connection [MQTT-4.8.0-1] (3.1.1) / [MQTT-4.13.1-1] (5.0); Mosquitto ignores it",
    midge: ["#1", "a< 20 02 00 00", "#2", "a closed after frame 1"],
  },
  {
    conversation: "fixture: SUBACK 5.0 granted QoS 2 and not authorised (v5)",
    clause:
      "a server-to-client packet from a client is a protocol violation: the receiver MUST close the connection [MQTT-4.8.0-1] (3.1.1) / [MQTT-4.13.1-1] (5.0); Mosquitto ignores it",
    midge: ["#1", "a< 20 09 00 00 06 22 00 0a 21 00 14", "#2", "a closed after frame 1"],
  },
  {
    conversation: "fixture: SUBACK 5.0 with a reason string (v5)",
    clause:
      "a server-to-client packet from a client is a protocol violation: the receiver MUST close the connection [MQTT-4.8.0-1] (3.1.1) / [MQTT-4.13.1-1] (5.0); Mosquitto ignores it",
    midge: ["#1", "a< 20 09 00 00 06 22 00 0a 21 00 14", "#2", "a closed after frame 1"],
  },
  {
    conversation: "fixture: SUBACK 5.0 reason code 0x04 is not a SUBACK code (v5)",
    clause:
      "a server-to-client packet from a client is a protocol violation: the receiver MUST close the connection [MQTT-4.8.0-1] (3.1.1) / [MQTT-4.13.1-1] (5.0); Mosquitto ignores it",
    midge: ["#1", "a< 20 09 00 00 06 22 00 0a 21 00 14", "#2", "a closed after frame 1"],
  },
  {
    conversation: "fixture: UNSUBACK 3.1.1 (v4)",
    clause:
      "a server-to-client packet from a client is a protocol violation: the receiver MUST close the connection [MQTT-4.8.0-1] (3.1.1) / [MQTT-4.13.1-1] (5.0); Mosquitto ignores it",
    midge: ["#1", "a< 20 02 00 00", "#2", "a closed after frame 1"],
  },
  {
    conversation: "fixture: UNSUBACK 3.1.1 with an extra byte (v4)",
    clause:
      "a server-to-client packet from a client is a protocol violation: the receiver MUST close the connection [MQTT-4.8.0-1] (3.1.1) / [MQTT-4.13.1-1] (5.0); Mosquitto ignores it",
    midge: ["#1", "a< 20 02 00 00", "#2", "a closed after frame 1"],
  },
  {
    conversation: "fixture: UNSUBACK 5.0 success and no subscription existed (v5)",
    clause:
      "a server-to-client packet from a client is a protocol violation: the receiver MUST close the connection [MQTT-4.8.0-1] (3.1.1) / [MQTT-4.13.1-1] (5.0); Mosquitto ignores it",
    midge: ["#1", "a< 20 09 00 00 06 22 00 0a 21 00 14", "#2", "a closed after frame 1"],
  },
  {
    conversation: "fixture: UNSUBACK 5.0 reason code 0x10 is not an UNSUBACK code (v5)",
    clause:
      "a server-to-client packet from a client is a protocol violation: the receiver MUST close the connection [MQTT-4.8.0-1] (3.1.1) / [MQTT-4.13.1-1] (5.0); Mosquitto ignores it",
    midge: ["#1", "a< 20 09 00 00 06 22 00 0a 21 00 14", "#2", "a closed after frame 1"],
  },
  {
    conversation: "fixture: UNSUBACK 5.0 without reason codes (v5)",
    clause:
      "a server-to-client packet from a client is a protocol violation: the receiver MUST close the connection [MQTT-4.8.0-1] (3.1.1) / [MQTT-4.13.1-1] (5.0); Mosquitto ignores it",
    midge: ["#1", "a< 20 09 00 00 06 22 00 0a 21 00 14", "#2", "a closed after frame 1"],
  },
  {
    conversation: "fixture: PINGRESP 5.0 (v5)",
    clause:
      "a server-to-client packet from a client is a protocol violation: the receiver MUST close the connection [MQTT-4.8.0-1] (3.1.1) / [MQTT-4.13.1-1] (5.0); Mosquitto ignores it",
    midge: ["#1", "a< 20 09 00 00 06 22 00 0a 21 00 14", "#2", "a closed after frame 1"],
  },
  {
    conversation: "fixture: SUBACK 3.1 (v3)",
    clause:
      "a server-to-client packet from a client is a protocol violation: the receiver MUST close the connection [MQTT-4.8.0-1] (3.1.1) / [MQTT-4.13.1-1] (5.0); Mosquitto ignores it",
    midge: ["#1", "a< 20 02 00 00", "#2", "a closed after frame 1"],
  },
  {
    conversation: "fixture: PINGRESP 3.1 (v3)",
    clause:
      "a server-to-client packet from a client is a protocol violation: the receiver MUST close the connection [MQTT-4.8.0-1] (3.1.1) / [MQTT-4.13.1-1] (5.0); Mosquitto ignores it",
    midge: ["#1", "a< 20 02 00 00", "#2", "a closed after frame 1"],
  },
];
