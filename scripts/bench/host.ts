/**
 * What a benchmark report says about the machine and the code measured: the load (`uptime`)
 * and the Midge commit, with a warning when src/ had uncommitted changes.
 *
 * @module
 */

const ROOT = new URL("../..", import.meta.url).pathname;

/** `uptime`'s line, or /proc/loadavg when `uptime` is missing. */
export async function uptime(): Promise<string> {
  try {
    const out = await new Deno.Command("uptime", { stdout: "piped" }).output();
    return new TextDecoder().decode(out.stdout).trim();
  } catch {
    return `loadavg ${Deno.readTextFileSync("/proc/loadavg").trim()}`;
  }
}

async function git(args: string[]): Promise<string | undefined> {
  const out = await new Deno.Command("git", { args, cwd: ROOT, stdout: "piped", stderr: "null" })
    .output();
  return out.success ? new TextDecoder().decode(out.stdout).trim() : undefined;
}

/** The commit Midge is measured at, and whether src/ has uncommitted changes. */
export async function midgeRevision(): Promise<string> {
  try {
    const head = await git(["rev-parse", "--short", "HEAD"]);
    const dirty = await git(["status", "--porcelain", "--", "src"]);
    if (head === undefined) return "unknown revision";
    return dirty
      ? `${head} + uncommitted changes in src/ (${dirty.split("\n").length} files)`
      : head;
  } catch {
    return "unknown revision (no git)";
  }
}
