/**
 * Every entry of the packet table (tests/fixtures/packets.ts) as a conversation: a CONNECT entry
 * is the first packet of its connection; any other entry follows a good CONNECT of its version.
 * (The harness's closing PINGREQ shows whether the connection is still served.)
 *
 * @module
 */

import { PACKET_FIXTURES, type PacketFixture } from "../fixtures/packets.ts";
import { connect } from "./build.ts";
import type { Conversation } from "./harness.ts";

function fromFixture(fixture: PacketFixture): Conversation {
  const isConnect = (parseInt(fixture.hex.slice(0, 2), 16) >> 4) === 1;
  const opening = isConnect ? [] : [{ send: connect(fixture.version, "fixture") }];
  return {
    name: `fixture: ${fixture.name} (v${fixture.version})`,
    steps: [...opening, { send: fixture.hex }],
  };
}

/** One conversation per entry of the packet table, valid and malformed. */
export const FIXTURE_CONVERSATIONS: readonly Conversation[] = PACKET_FIXTURES.map(fromFixture);
