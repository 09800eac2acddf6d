/**
 * Build single binaries of Midge into dist/: `deno run -A scripts/compile.ts [TARGET...]`,
 * default x86_64 and aarch64 Linux. `deno compile` needs the `denort` runtime of each target:
 * it uses $DENORT_BIN or the copy in Deno's cache, and downloads it otherwise; where it cannot,
 * this script says which target failed and why, and exits 1.
 *
 * @module
 */

/** Targets built when none is named. */
export const DEFAULT_TARGETS = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"];

/** Compile `main.ts` for one target into `dist/midge-<target>`; resolves to success. */
export async function compileTarget(target: string): Promise<boolean> {
  const output = `dist/midge-${target}`;
  const result = await new Deno.Command(Deno.execPath(), {
    args: [
      "compile",
      "--unstable-kv",
      "--unstable-net", // log_dest syslog: Unix datagram sockets
      "-A",
      // As `deno task start`: a 1 MiB young generation (about 5 KB less per idle connection)
      // and garbage collection on the main thread (a shorter latency tail).
      "--v8-flags=--max-semi-space-size=1,--single-threaded-gc",
      "--target",
      target,
      "--output",
      output,
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
  const targets = Deno.args.length > 0 ? Deno.args : DEFAULT_TARGETS;
  await Deno.mkdir("dist", { recursive: true });
  let ok = true;
  for (const target of targets) ok = (await compileTarget(target)) && ok;
  Deno.exit(ok ? 0 : 1);
}
