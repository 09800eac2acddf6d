/**
 * Conversations of a bridge connecting with Mosquitto's `try_private` (protocol level 0x83 or
 * 0x84): its subscriptions are no local and retain as published, which 3.x cannot ask for.
 *
 * @module
 */

import type { ProtocolVersion } from "../../src/codec/mod.ts";
import { connect, PINGREQ, publish, subscribe } from "./build.ts";
import type { Conversation } from "./harness.ts";

function bridgeClient(v: ProtocolVersion): Conversation {
  return {
    name: `v${v} bridge: its own message does not come back, another's keeps its retain flag`,
    steps: [
      { send: connect(v, `bridge-a-${v}`, { bridge: true }) },
      { send: subscribe(v, `brg${v}/#`, { qos: 1 }) },
      { send: publish(v, `brg${v}/own`, "own", { qos: 1 }) },
      { send: connect(v, `bridge-b-${v}`), on: "b" },
      { send: publish(v, `brg${v}/kept`, "r", { retain: true }), on: "b" },
      { send: publish(v, `brg${v}/kept`, "", { retain: true }), on: "b" },
      { send: PINGREQ },
    ],
  };
}

/** A 3.1 and a 3.1.1 bridge. */
export const BRIDGE_CONVERSATIONS: readonly Conversation[] = [3, 4].map((v) =>
  bridgeClient(v as ProtocolVersion)
);
