/**
 * Keeping SIGUSR1 from opening a debugger. Since Deno 2.9.2, SIGUSR1 sent to a running Deno
 * program starts the V8 inspector on 127.0.0.1:9229, whatever the program's permissions, and
 * a JavaScript listener for the signal does not stop it. Anyone on the machine who can reach
 * that port can then run code as the broker. Mosquitto's operators send SIGUSR1 to save the
 * persistence database, and Midge honours it, so the broker holds that address itself while
 * it runs: the inspector then fails to bind ("Failed to start inspector server") and the
 * broker carries on. A connection to the held port is closed at once.
 *
 * @module
 */

import type { Logger } from "../log/logger.ts";

/** Where Deno starts the inspector on SIGUSR1. */
export const INSPECTOR_ADDRESS = { hostname: "127.0.0.1", port: 9229 } as const;

/** The held address; `close` gives it back. */
export interface InspectorGuard {
  /** Stop holding the address. */
  close(): void;
}

/**
 * Hold the inspector's address for as long as the broker runs. Where it is taken already
 * (another Midge, or a debugger someone started on purpose), nothing is held and a notice
 * says so, since SIGUSR1 could then open the inspector once that address is free.
 */
export function guardInspectorPort(log: Logger): InspectorGuard {
  let listener: Deno.Listener;
  try {
    listener = Deno.listen(INSPECTOR_ADDRESS);
  } catch (error) {
    const where = `${INSPECTOR_ADDRESS.hostname}:${INSPECTOR_ADDRESS.port}`;
    if (error instanceof Deno.errors.AddrInUse) {
      log.notice(
        `${where} is in use: if it is freed, SIGUSR1 would make Deno open its ` +
          "debugger there.",
      );
    } else if (error instanceof Deno.errors.NotCapable) {
      log.notice(
        `--allow-net does not name ${where}: Midge cannot hold it, and SIGUSR1 ` +
          "would make Deno open its debugger there.",
      );
    } else throw error;
    return { close() {} };
  }
  void refuseAll(listener);
  return {
    close() {
      try {
        listener.close();
      } catch {
        // closed already
      }
    },
  };
}

/** Accept and close every connection until the listener is closed. */
async function refuseAll(listener: Deno.Listener): Promise<void> {
  try {
    for await (const conn of listener) conn.close();
  } catch {
    // the listener was closed
  }
}
