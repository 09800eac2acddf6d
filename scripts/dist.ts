/**
 * `deno task dist [x86_64|aarch64 ...]`: a self-contained release folder per platform in dist/
 * (default both), and a .tar.gz of each to copy to the machine. Downloads Deno's binary for
 * each platform from the npm registry once (it says what it downloads) and keeps it in
 * .cache/release/. See scripts/release/folder.ts for what a folder holds.
 *
 * @module
 */

import { type Arch, DENO_PACKAGES } from "./release/deno_binary.ts";
import { buildRelease, releaseName } from "./release/folder.ts";

const REPO = new URL("../", import.meta.url).pathname;

/** The architectures named on the command line, or all; undefined if one is unknown. */
function archesOf(args: string[]): Arch[] | undefined {
  const known = Object.keys(DENO_PACKAGES) as Arch[];
  if (args.length === 0) return known;
  return args.every((a) => (known as string[]).includes(a)) ? args as Arch[] : undefined;
}

if (import.meta.main) {
  const arches = archesOf(Deno.args);
  if (arches === undefined) {
    console.error(`usage: deno task dist [${Object.keys(DENO_PACKAGES).join("|")} ...]`);
    Deno.exit(2);
  }
  const outDir = `${REPO}dist`;
  const log = (line: string) => console.log(`dist: ${line}`);
  for (const arch of arches) {
    await buildRelease(arch, { outDir, cacheDir: `${REPO}.cache/release`, log });
    const name = releaseName(arch);
    const tar = await new Deno.Command("tar", {
      args: ["-czf", `${name}.tar.gz`, name],
      cwd: outDir,
    }).output();
    if (!tar.success) throw new Error(`tar could not pack ${name}`);
    log(`made dist/${name}.tar.gz`);
  }
}
