/**
 * `--test-config` past the file itself: the files a start reads or writes before it opens its
 * sockets, checked with the start's own loaders (password and ACL files, TLS certificates and
 * keys) and without changing anything: the persistence database, the pid file and the log file
 * are only checked to be writable (the store is not opened, so a broker already running on the
 * same configuration does not make the check fail).
 *
 * @module
 */

import { dirname } from "node:path";
import { fsReason } from "../config/errors.ts";
import type { Config } from "../config/options.ts";
import { storePath } from "../config/persistence_paths.ts";
import { logDestinationsFromConfig } from "../log/from_config.ts";
import { checkTlsFiles } from "../transport/tls_listen.ts";
import { isHttpListener, tlsSettings } from "./broker_options.ts";
import { loadSecurityFiles } from "./security_files.ts";

/** What `checkStart` found. */
export interface StartCheck {
  /** What a start would fail on, one entry a problem; none for a start that would go on. */
  failures: string[];
  /** Lines a start would log and go on (password file lines it leaves out), as logged. */
  logged: { level: "error" | "warning"; line: string }[];
}

/** Every problem a start with `config` would meet before opening its sockets. */
export async function checkStart(config: Config): Promise<StartCheck> {
  const result: StartCheck = { failures: [], logged: [] };
  const check = async (where: string, run: () => Promise<unknown>) => {
    try {
      await run();
    } catch (error) {
      result.failures.push(`${where}${(error as Error).message}`);
    }
  };
  await check("", async () => result.logged = (await loadSecurityFiles(config)).problems);
  for (const l of config.listeners) {
    const tls = isHttpListener(l) ? undefined : tlsSettings(l);
    if (tls !== undefined) await check(`listener on port ${l.port}: `, () => checkTlsFiles(tls));
  }
  const log = logDestinationsFromConfig(config.log.log_dest).file;
  if (log !== undefined) await check("log file ", () => checkWritable(log));
  const pid = config.general.pid_file;
  if (pid !== undefined) await check("pid_file ", () => checkWritable(pid));
  if (config.persistence.persistence) {
    await check("persistence database ", () => checkWritable(storePath(config)));
  }
  return result;
}

/**
 * Throws saying why unless `path` can be written: an existing file opened for writing (neither
 * truncated nor changed), a new one by creating and removing a file beside it.
 */
async function checkWritable(path: string): Promise<void> {
  try {
    using _file = await Deno.open(path, { write: true });
    return;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) {
      throw new Error(`${path}: cannot write: ${fsReason(error)}`);
    }
  }
  const dir = dirname(path);
  let probe: string;
  try {
    probe = await Deno.makeTempFile({ dir, prefix: ".midge-test-config-" });
  } catch (error) {
    throw new Error(`${path}: cannot create it in ${dir}: ${fsReason(error)}`);
  }
  await Deno.remove(probe);
}
