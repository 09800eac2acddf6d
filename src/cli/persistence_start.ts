/**
 * Opening the configured store at start-up (`persistence true`) and restoring the broker's
 * state from it, with the log lines that say what was found.
 *
 * @module
 */

import { join } from "node:path";
import type { Broker } from "../broker/broker.ts";
import { restore } from "../broker/restore.ts";
import type { Config } from "../config/options.ts";
import { openKvStore } from "../store/kv_store.ts";

/** The database file `config` names: persistence_location (or the working directory) + file. */
export function storePath(config: Config): string {
  const p = config.persistence;
  return join(p.persistence_location ?? Deno.cwd(), p.persistence_file);
}

/**
 * With `persistence true`, open the store and restore `broker` from it (before it starts).
 * Throws an Error with the message to log when the store cannot be opened or read.
 */
export async function startPersistence(broker: Broker, config: Config): Promise<void> {
  if (!config.persistence.persistence) return;
  const path = storePath(config);
  const log = broker.log;
  log.info(`Opening the persistence database ${path}.`);
  const store = await openKvStore(path, {
    allowEmpty: config.persistence.persistence_allow_empty,
  });
  try {
    const s = await restore(broker, store);
    log.notice(
      `Restored from ${path}: ${s.sessions} sessions, ${s.subscriptions} subscriptions, ` +
        `${s.deliveries} queued or in-flight messages, ${s.retained} retained messages` +
        (s.skipped > 0 ? `; ${s.skipped} records skipped (see the warnings above).` : "."),
    );
  } catch (error) {
    await store.close();
    throw error;
  }
}
