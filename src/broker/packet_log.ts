/**
 * Mosquitto's debug lines for packets received and sent (`log_type debug`, `-v`), so that
 * what users grep for in a verbose Mosquitto log is in Midge's too. PUBLISH has its own lines
 * in the publish handler and in delivery, where the topic (after aliases) is known.
 *
 * @module
 */

import { type Packet, type ProtocolVersion, toV3ConnackCode } from "../codec/mod.ts";

/** The debug lines for a packet received from client `id`; none for PUBLISH and CONNECT. */
export function receivedLines(id: string, packet: Packet): string[] {
  switch (packet.type) {
    case "subscribe":
      return [
        `Received SUBSCRIBE from ${id}`,
        ...packet.subscriptions.map((s) => `\t${s.topicFilter} (QoS ${s.qos})`),
      ];
    case "unsubscribe":
      return [`Received UNSUBSCRIBE from ${id}`, ...packet.topicFilters.map((f) => `\t${f}`)];
    case "puback":
    case "pubcomp":
      return [
        `Received ${packet.type.toUpperCase()} from ${id} (Mid: ${packet.packetId}, RC:${packet.reasonCode})`,
      ];
    case "pubrec":
    case "pubrel":
      return [`Received ${packet.type.toUpperCase()} from ${id} (Mid: ${packet.packetId})`];
    case "pingreq":
    case "disconnect":
    case "auth":
      return [`Received ${packet.type.toUpperCase()} from ${id}`];
    default:
      return [];
  }
}

/**
 * The debug line for a packet sent to client `id` (speaking `version`), if Mosquitto logs
 * one. A CONNACK's code is the one on the wire: a 3.x return code for 3.x clients.
 */
export function sentLine(id: string, packet: Packet, version: ProtocolVersion): string | undefined {
  switch (packet.type) {
    case "connack": {
      const code = version === 5 ? packet.reasonCode : toV3ConnackCode(packet.reasonCode);
      return `Sending CONNACK to ${id} (${packet.sessionPresent ? 1 : 0}, ${code})`;
    }
    case "puback":
    case "pubrec":
      return `Sending ${packet.type.toUpperCase()} to ${id} (m${packet.packetId}, rc${packet.reasonCode})`;
    case "pubrel":
    case "pubcomp":
      return `Sending ${packet.type.toUpperCase()} to ${id} (m${packet.packetId})`;
    case "suback":
    case "unsuback":
    case "pingresp":
      return `Sending ${packet.type.toUpperCase()} to ${id}`;
    case "disconnect":
      return `Sending DISCONNECT to ${id} (rc${packet.reasonCode})`;
    default:
      return undefined;
  }
}
