/**
 * The differential suite: every conversation is played against Debian's Mosquitto 2.0.11 and
 * against Midge, each started with the same mosquitto.conf, and the transcripts must be equal,
 * except for the intended differences (intended.ts, Midge's side asserted) and the open ones
 * (open.ts, asserted to still differ).
 *
 * @module
 */

import assert from "node:assert/strict";
import { MOSQUITTO_BROKER } from "../auth/mosquitto_tools.ts";
import { interopTest } from "../interop/helpers.ts";
import { type BrokerKind, playAll, sideBySide, type Transcript } from "./harness.ts";
import { type Area, AREAS } from "./areas.ts";
import { INTENDED_DIFFERENCES } from "./intended.ts";
import { OPEN_DIFFERENCES } from "./open.ts";

/** Every transcript of `kind` in `area`; if the run fails, its error stands for each. */
async function transcripts(
  kind: BrokerKind,
  area: Area,
): Promise<Map<string, Transcript>> {
  try {
    return await playAll(kind, area.conf, area.conversations, area.shards);
  } catch (error) {
    const refused = [`${kind}: ${(error as Error).message.replaceAll("\n", " / ")}`];
    return new Map(area.conversations.map((c) => [c.name, refused]));
  }
}

/** What is wrong with one conversation's pair of transcripts, or undefined. */
function judge(name: string, mosquitto: Transcript, midge: Transcript): string | undefined {
  const same = mosquitto.join("\n") === midge.join("\n");
  const intended = INTENDED_DIFFERENCES.find((d) => d.conversation === name);
  const open = OPEN_DIFFERENCES[name];
  const table = () => sideBySide(mosquitto, midge);
  if (intended !== undefined) {
    if (same) return `${name}: Midge and Mosquitto now answer alike: remove it from intended.ts`;
    if (intended.midge.join("\n") === midge.join("\n")) return undefined;
    return `${name}: intended difference (${intended.clause}), but Midge's answer changed:\n` +
      sideBySide(intended.midge, midge, ["intended", "midge"]);
  }
  if (open !== undefined) {
    return same ? `${name}: fixed (${open}): remove it from open.ts` : undefined;
  }
  return same ? undefined : `${name}: differs\n${table()}`;
}

for (const area of AREAS) {
  interopTest({
    name: `differential: ${area.name}, Mosquitto 2.0.11 and Midge answer alike`,
    needs: [MOSQUITTO_BROKER],
    async fn() {
      const [mosquitto, midge] = await Promise.all([
        transcripts("mosquitto", area),
        transcripts("midge", area),
      ]);
      const problems = area.conversations
        .map((c) => judge(c.name, mosquitto.get(c.name)!, midge.get(c.name)!))
        .filter((problem) => problem !== undefined);
      if (problems.length > 0) {
        throw new Error(
          `${problems.length} of ${area.conversations.length}:\n\n${problems.join("\n\n")}`,
        );
      }
    },
  });
}

Deno.test("differential: every intended and open difference names a conversation", () => {
  const names = new Set(AREAS.flatMap((area) => area.conversations.map((c) => c.name)));
  const listed = [
    ...INTENDED_DIFFERENCES.map((d) => d.conversation),
    ...Object.keys(OPEN_DIFFERENCES),
  ];
  assert.deepEqual(listed.filter((name) => !names.has(name)), []);
});
