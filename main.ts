/**
 * Midge's entry point: `deno run -A main.ts [broker] | pub | sub | rr | passwd`.
 *
 * @module
 */

import { runCli } from "./src/cli/dispatch.ts";

if (import.meta.main) {
  Deno.exit(await runCli(Deno.args));
}
