#!/usr/bin/env -S deno run -A
/**
 * Midge's entry point: `deno run -A main.ts [broker] | pub | sub | rr | passwd | convert`.
 * Started through a link named `mosquitto_pub`, `mosquitto_sub`, `mosquitto_rr` or
 * `mosquitto_passwd` (to the compiled binary, or to this file), it acts as that tool.
 *
 * @module
 */

import process from "node:process";

if (import.meta.main) {
  // Through a link to this file, Deno resolves imports from the link's directory: then load
  // the program from where this file really is. (The plain import keeps the module graph
  // visible to `deno compile`.)
  const here = new URL(import.meta.url);
  const real = realUrl(here);
  const { commandForProgramName, runCli } = real.href === here.href
    ? await import("./src/cli/dispatch.ts")
    : await import(
      new URL("./src/cli/dispatch.ts", real).href
    ) as typeof import("./src/cli/dispatch.ts");
  const tool = commandForProgramName(process.argv0) ??
    commandForProgramName(here.pathname);
  Deno.exit(await runCli(tool === undefined ? Deno.args : [tool, ...Deno.args]));
}

/** `url` with symbolic links resolved, for a file URL that exists on disk. */
function realUrl(url: URL): URL {
  if (url.protocol !== "file:") return url;
  try {
    return new URL(`file://${Deno.realPathSync(url)}`);
  } catch {
    return url;
  }
}
