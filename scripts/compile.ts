/**
 * Build single binaries of Midge into dist/: `deno task compile [x86_64|aarch64 ...]` (default
 * both) makes `dist/midge-x86_64-linux` and `dist/midge-aarch64-linux`, with all permissions and
 * the flags of `deno task start` (V8 flags, unstable features) embedded, so the binary needs no
 * flags. `deno compile` needs the `denort` runtime of each target: it uses $DENORT_BIN or the
 * copy in Deno's cache, and downloads it otherwise; where it cannot, this script says which
 * target failed and why, and exits 1 (`deno task dist` makes release folders offline instead).
 *
 * @module
 */

import { startTaskFlags } from "./release/run_flags.ts";

/** The Deno target of each architecture a binary is built for. */
export const TARGETS: Readonly<Record<string, string>> = {
  x86_64: "x86_64-unknown-linux-gnu",
  aarch64: "aarch64-unknown-linux-gnu",
};

/** Compile `main.ts` for `arch` into `dist/midge-<arch>-linux`; resolves to success. */
export async function compileTarget(arch: string): Promise<boolean> {
  const target = TARGETS[arch];
  const result = await new Deno.Command(Deno.execPath(), {
    args: [
      "compile",
      "-A",
      ...await startTaskFlags(),
      "--target",
      target,
      "--output",
      `dist/midge-${arch}-linux`,
      "main.ts",
    ],
    env: { RUST_BACKTRACE: "0" },
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!result.success) {
    console.error(
      `compile: ${target} failed. deno compile needs the denort runtime for ${target}: set ` +
        "DENORT_BIN to it, or place it in Deno's cache, where network access is not available.",
    );
  }
  return result.success;
}

if (import.meta.main) {
  const arches = Deno.args.length > 0 ? Deno.args : Object.keys(TARGETS);
  const unknown = arches.filter((arch) => !Object.hasOwn(TARGETS, arch));
  if (unknown.length > 0) {
    console.error(`compile: unknown ${unknown.join(", ")}; known: ${Object.keys(TARGETS)}`);
    Deno.exit(2);
  }
  await Deno.mkdir("dist", { recursive: true });
  let ok = true;
  for (const arch of arches) ok = (await compileTarget(arch)) && ok;
  Deno.exit(ok ? 0 : 1);
}
