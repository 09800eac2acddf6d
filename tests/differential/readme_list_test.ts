/**
 * The README's list of the places where Midge keeps the specification and Mosquitto does not
 * is the intended differences of the differential suite, no more and no less: each intended
 * difference's phrase is in a bullet of the list, each bullet states at least one, and both
 * name the spec clause. No broker needed.
 *
 * @module
 */

import assert from "node:assert/strict";
import { INTENDED_DIFFERENCES } from "./intended.ts";

/** The sentence that opens the README's list of differences. */
const LIST_OPENING = "Where Mosquitto 2.0.11 departs from the specification, Midge follows the";

/** A spec clause: a statement id such as [MQTT-3.1.2-24], or a section such as §3.3.1.3. */
const CLAUSE = /\[MQTT-\d+\.\d+\.\d+-\d+\]|§\d+\.\d+/;

/** The bullets of the README's list of differences, each with its lines joined by one space. */
async function readmeBullets(): Promise<string[]> {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const start = readme.indexOf(LIST_OPENING);
  assert.notEqual(start, -1, `README.md has no paragraph starting "${LIST_OPENING}"`);
  const end = readme.indexOf("\n#", start);
  return readme.slice(start, end === -1 ? undefined : end)
    .split(/\n- /)
    .slice(1)
    .map((bullet) => bullet.replace(/\s+/g, " ").trim());
}

Deno.test("README differences: every intended difference is stated in the list", async () => {
  const bullets = await readmeBullets();
  const missing = INTENDED_DIFFERENCES
    .filter((d) => !bullets.some((bullet) => bullet.includes(d.readme)))
    .map((d) => `${d.conversation}: "${d.readme}"`);
  assert.deepEqual(missing, []);
});

Deno.test("README differences: every bullet of the list is an intended difference", async () => {
  const bullets = await readmeBullets();
  assert.ok(bullets.length > 0, "the list has no bullets");
  const unclaimed = bullets.filter((bullet) =>
    !INTENDED_DIFFERENCES.some((d) => bullet.includes(d.readme))
  );
  assert.deepEqual(unclaimed, []);
});

Deno.test("README differences: every bullet and every intended difference names its clause", async () => {
  const bullets = await readmeBullets();
  assert.deepEqual(bullets.filter((bullet) => !CLAUSE.test(bullet)), []);
  assert.deepEqual(
    INTENDED_DIFFERENCES.filter((d) => !CLAUSE.test(d.clause)).map((d) => d.conversation),
    [],
  );
});
