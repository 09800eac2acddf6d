/**
 * AUTH: Midge offers no extended authentication method, so a client that did not start one in
 * CONNECT must not send AUTH [MQTT-4.12.0-1].
 *
 * @module
 */

import { type AuthPacket, protocolError } from "../../codec/mod.ts";
import type { ClientConnection } from "../context.ts";

/** Refuse an AUTH packet. */
export function handleAuth(_conn: ClientConnection, packet: AuthPacket): never {
  throw protocolError(
    `AUTH (reason 0x${packet.reasonCode.toString(16)}) without an authentication method`,
  );
}
