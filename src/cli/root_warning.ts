/**
 * A broker started as root. Mosquitto drops to the `mosquitto` user; Deno has no setuid, so
 * Midge keeps every right it was started with. Unless the file says `user root` (root on
 * purpose), the log says so and names the fix: systemd's `User=`.
 *
 * @module
 */

import { type ProcessFacts, processFacts } from "../config/load.ts";
import type { Logger } from "../log/logger.ts";

/** The warning for a broker whose file sets `user` to `user` (or not at all), or undefined. */
export function rootWarning(
  user: string | undefined,
  facts: Pick<ProcessFacts, "isRoot">,
): string | undefined {
  // A `user` other than the one Midge runs as is refused when the file is read.
  if (user !== undefined || !facts.isRoot) return undefined;
  return "Running as root: Midge cannot drop privileges (Deno cannot change user). Start it " +
    "as an unprivileged user (User= in the systemd unit, conf/midge.service), or set user " +
    "root to run as root on purpose.";
}

/** Log `rootWarning` for this process, if it applies. */
export function warnWhenRoot(log: Logger, user: string | undefined): void {
  const warning = rootWarning(user, processFacts());
  if (warning !== undefined) log.warning(warning);
}
