/**
 * Opening the configured store at start-up (`persistence true`) and restoring the broker's
 * state from it, with the log lines that say what was found; and, when the store is empty
 * and a Mosquitto left its `mosquitto.db` beside it, a notice saying how to import that.
 *
 * @module
 */

import type { Broker } from "../broker/broker.ts";
import { restore, type RestoreSummary } from "../broker/restore.ts";
import type { Config } from "../config/options.ts";
import { mosquittoDbPath, storePath } from "../config/persistence_paths.ts";
import { openKvStore } from "../store/kv_store.ts";

function isEmpty(s: RestoreSummary): boolean {
  return s.sessions + s.subscriptions + s.deliveries + s.retained + s.skipped === 0;
}

/** The notice for a `mosquitto.db` beside an empty store, or undefined when there is none. */
async function mosquittoDbNotice(config: Config, path: string): Promise<string | undefined> {
  const dbPath = mosquittoDbPath(config);
  if (dbPath === path) return undefined;
  try {
    if (!(await Deno.stat(dbPath)).isFile) return undefined;
  } catch {
    return undefined;
  }
  return `Found Mosquitto's persistence file ${dbPath} beside the empty store ${path}: ` +
    `Midge does not read it. To keep its retained messages, sessions, subscriptions and ` +
    `queued messages, stop Midge and run: midge import -c ${
      config.file ?? "<configuration file>"
    } ${dbPath}`;
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
    const notice = isEmpty(s) ? await mosquittoDbNotice(config, path) : undefined;
    if (notice !== undefined) log.notice(notice);
  } catch (error) {
    await store.close();
    throw error;
  }
}
