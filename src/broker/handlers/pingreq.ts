/**
 * PINGREQ: answer PINGRESP [MQTT-3.12.4-1].
 *
 * @module
 */

import type { Connection } from "../connection.ts";

/** Answer a PINGREQ. */
export function handlePingreq(conn: Connection): void {
  conn.send({ type: "pingresp" });
}
