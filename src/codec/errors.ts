/**
 * The one error type of the codec (and of the broker's handlers): an MQTT 5.0 reason code and a
 * message for the log.
 *
 * @module
 */

import { ReasonCode, reasonCodeName } from "./reason_codes.ts";

/**
 * A protocol failure with the MQTT 5.0 reason code that describes it. Decoding bad bytes throws
 * this and nothing else; the broker turns it into a DISCONNECT (5.0) or a closed socket (3.x).
 */
export class MqttError extends Error {
  /** MQTT 5.0 reason code, e.g. 0x81 malformed packet, 0x82 protocol error. */
  readonly reasonCode: number;
  /**
   * Whether it is a repeated property, which Mosquitto 2.0 takes for a failed read: it closes
   * without a DISCONNECT whatever the packet, and logs a bad socket read.
   */
  readonly isDuplicateProperty: boolean;

  /** Build an error from a reason code and a message saying what was wrong. */
  constructor(
    reasonCode: number,
    message: string,
    options: { isDuplicateProperty?: boolean } = {},
  ) {
    super(message);
    this.name = "MqttError";
    this.reasonCode = reasonCode;
    this.isDuplicateProperty = options.isDuplicateProperty ?? false;
  }

  /** The reason code's name, e.g. "Malformed Packet". */
  get reasonName(): string {
    return reasonCodeName(this.reasonCode);
  }
}

/** A malformed-packet (0x81) error. */
export function malformed(message: string): MqttError {
  return new MqttError(ReasonCode.MalformedPacket, message);
}

/** A protocol-error (0x82) error. */
export function protocolError(message: string): MqttError {
  return new MqttError(ReasonCode.ProtocolError, message);
}

/** A repeated property (0x82), closed without a DISCONNECT as Mosquitto 2.0 does. */
export function duplicateProperty(message: string): MqttError {
  return new MqttError(ReasonCode.ProtocolError, message, { isDuplicateProperty: true });
}
