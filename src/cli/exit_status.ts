/**
 * The broker's exit statuses, Mosquitto's for the same failures, so that a service manager
 * reads them alike: systemd's `RestartPreventExitStatus=3` stops retrying a start that a
 * restart cannot mend.
 *
 * @module
 */

import { ConfigError } from "../config/errors.ts";

/** A listener that cannot open (port in use, TLS files): Mosquitto's 1. */
export const EXIT_START_FAILED = 1;

/** A configuration or command line that cannot be used (Mosquitto's MOSQ_ERR_INVAL). */
export const EXIT_CONFIG_INVALID = 3;

/** The persistence database cannot be used: a restart will not help. */
export const EXIT_STORE_FAILED = 3;

/** A password or ACL file that cannot be read, as Mosquitto's. */
export const EXIT_FILE_UNREADABLE = 13;

/**
 * The exit status of a start stopped by a password or ACL file (`error` from
 * `loadSecurityFiles`): 13 when a file cannot be read, 3 when one holds a line that is not valid.
 */
export function securityFileStatus(error: unknown): number {
  const unreadable = error instanceof ConfigError &&
    error.problems.every((problem) => problem.origin.line === 0);
  return unreadable ? EXIT_FILE_UNREADABLE : EXIT_CONFIG_INVALID;
}
