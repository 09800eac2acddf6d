/**
 * A permission Deno refused, told in one line. Run with narrow `--allow-*` flags, Deno throws
 * `NotCapable` wherever one is missing; its stack trace tells the operator nothing the flag
 * would not. The line names the access and the flag to add, and the process exits 1.
 *
 * @module
 */

import type { CliIo } from "../tools/cli_io.ts";

/** Exit status after a refused permission (Mosquitto's status for a start that failed). */
export const EXIT_PERMISSION = 1;

/** Deno's message: `Requires sys access to "uid", run again with the --allow-sys flag`. */
const REFUSAL = /^Requires (\w+) access to "(.*)", run again with the (--allow-\w+) flag/;

/** The line for `error` when it is a permission Deno refused; undefined for any other error. */
export function refusedPermissionLine(error: unknown): string | undefined {
  if (!(error instanceof Deno.errors.NotCapable)) return undefined;
  const refusal = REFUSAL.exec(error.message);
  if (refusal === null) return `Error: a permission is missing: ${error.message}`;
  const [, access, target, flag] = refusal;
  if (flag === "--allow-all") {
    return `Error: Deno gives ${access} access to "${target}" only with --allow-all (-A).`;
  }
  return `Error: Midge needs ${access} access to "${target}": add ${flag}=${target} to the ` +
    `deno run flags (or add ${target} to the list ${flag} already has); ` +
    `the README's "Permissions" lists what the broker needs.`;
}

/**
 * Make a permission refused outside the command's own flow (in a timer, a listener's loop) end
 * the process with its line and `EXIT_PERMISSION`, not an uncaught error's stack.
 */
export function exitOnRefusedPermission(io: CliIo): void {
  const exit = (event: Event, error: unknown) => {
    const line = refusedPermissionLine(error);
    if (line === undefined) return;
    event.preventDefault();
    io.err(line);
    Deno.exit(EXIT_PERMISSION);
  };
  globalThis.addEventListener("unhandledrejection", (event) => exit(event, event.reason));
  globalThis.addEventListener("error", (event) => exit(event, event.error));
}

/**
 * Throw Deno's own refusal when `access` to `path` is not granted: for a call whose refusal
 * would name a path the operator cannot know (a temporary one), or that comes too late.
 */
export function requirePathAccess(access: "read" | "write", path: string): void {
  if (Deno.permissions.querySync({ name: access, path }).state === "granted") return;
  throw new Deno.errors.NotCapable(
    `Requires ${access} access to "${path}", run again with the --allow-${access} flag`,
  );
}
