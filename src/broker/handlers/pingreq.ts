/**
 * PINGREQ: answer PINGRESP [MQTT-3.12.4-1].
 *
 * @module
 */

import type { ClientConnection } from "../context.ts";

/** Answer a PINGREQ. */
export function handlePingreq(conn: ClientConnection): void {
  conn.send({ type: "pingresp" });
}
