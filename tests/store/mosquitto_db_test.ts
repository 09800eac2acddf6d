/**
 * Reading Mosquitto 2.0's persistence file: a `mosquitto.db` saved by the real Mosquitto
 * (tests/fixtures/mosquitto_db.ts) read field by field, and every cut or damaged copy of it
 * refused with a `MosquittoDbError` naming a byte inside the file, never another error.
 *
 * @module
 */

import assert from "node:assert/strict";
import { makeMosquittoDb } from "../fixtures/mosquitto_db.ts";
import { interopTest } from "../interop/helpers.ts";
import { MOSQUITTO_BROKER } from "../auth/mosquitto_tools.ts";
import { MosquittoDbError, readMosquittoDb } from "../../src/store/mosquitto_db.ts";
import { importRecords } from "../../src/store/mosquitto_import.ts";
import {
  decodeDelivery,
  decodeSession,
  decodeSubscription,
  parseKey,
} from "../../src/store/records.ts";

async function withMosquittoDb(body: (bytes: Uint8Array) => void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "midge_mosquitto_db_" });
  try {
    body(await Deno.readFile(await makeMosquittoDb(dir)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

interopTest({
  name: "readMosquittoDb reads what Mosquitto 2.0.11 saved; importRecords keeps it",
  needs: [MOSQUITTO_BROKER],
  fn: () =>
    withMosquittoDb((bytes) => {
      const db = readMosquittoDb(bytes);
      assert.equal(db.version, 6);
      assert.deepEqual(db.clients.map((c) => [c.clientId, c.expiryInterval]), [
        ["s311", 0xffffffff],
        ["s5", 3600],
        ["h2", 0xffffffff],
      ]);
      const nl = db.subscriptions.find((s) => s.filter === "nl/#");
      // Mosquitto keeps no local and retain as published; retain handling it does not keep.
      assert.deepEqual(
        [nl?.clientId, nl?.qos, nl?.noLocal, nl?.retainAsPublished, nl?.retainHandling],
        ["s5", 1, true, true, 0],
      );
      const held = db.clientMessages.find((m) => m.direction === "in");
      assert.deepEqual([held?.clientId, held?.packetId, held?.state], ["h2", 9, "received"]);

      const { records, counts, leftOut } = importRecords(db, 1_000_000);
      assert.deepEqual(counts, { retained: 3, sessions: 3, subscriptions: 4, queued: 10, held: 1 });
      assert.deepEqual(leftOut, []);
      const byKind = (kind: string) =>
        [...records].filter(([key]) => parseKey(key)?.kind === kind).map(([, v]) => v);
      const sessions = byKind("s").map(decodeSession);
      assert.deepEqual(
        sessions.map((s) => [s.clientId, s.version]),
        [["s311", 4], ["s5", 5], ["h2", 4]],
      );
      const s5 = sessions.find((s) => s.clientId === "s5")!;
      assert.ok(Math.abs(s5.disconnectedAt - Date.now()) < 60_000, `${s5.disconnectedAt}`);
      assert.equal(sessions.find((s) => s.clientId === "s311")!.disconnectedAt, 1_000_000);
      assert.ok(byKind("u").map(decodeSubscription).some((s) => s.subscriptionId === 7));
      assert.deepEqual(
        byKind("d").map(decodeDelivery).map((d) => [d.state, d.packetId]),
        [1, 2, 3, 4, 5, 1, 2, 3, 4, 5].map((id) => ["queued", id]),
      );
    }),
});

interopTest({
  name: "readMosquittoDb refuses a cut or damaged file with a MosquittoDbError and its byte",
  needs: [MOSQUITTO_BROKER],
  fn: () =>
    withMosquittoDb((bytes) => {
      let whole = 0;
      for (let n = 0; n < bytes.length; n++) {
        try {
          readMosquittoDb(bytes.subarray(0, n));
          whole++; // cut between two chunks: a shorter file, as Mosquitto would read it
        } catch (error) {
          assert.ok(error instanceof MosquittoDbError, `cut at ${n}: ${error}`);
          assert.ok(error.offset <= n, `cut at ${n}: offset ${error.offset}`);
        }
      }
      const chunks = 1 + 9 + 3 + 3 + 4 + 11; // cfg, messages, retained, clients, subs, queue
      assert.equal(whole, chunks, "a file cut between chunks reads as a shorter one");
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      for (let at = 23; at < bytes.length - 4; at++) {
        const damaged = bytes.slice();
        new DataView(damaged.buffer).setUint32(at, view.getUint32(at) ^ 0xffff0000);
        try {
          readMosquittoDb(damaged);
        } catch (error) {
          assert.ok(error instanceof MosquittoDbError, `damaged at ${at}: ${error}`);
        }
      }
    }),
});
