/**
 * The shell commands the README gives, read from it, so that a test runs what an operator
 * copies rather than a second copy that may drift.
 *
 * @module
 */

/** The repository's root directory. */
export const REPO = new URL("../../", import.meta.url).pathname;

/** The first ```sh block of README.md whose text starts with `start`. */
export async function readmeShellBlock(start: string): Promise<string> {
  const readme = await Deno.readTextFile(`${REPO}README.md`);
  const blocks = readme.split("```sh\n").slice(1).map((rest) => rest.split("\n```")[0]);
  const block = blocks.find((text) => text.startsWith(start));
  if (block === undefined) throw new Error(`README.md has no sh block starting '${start}'`);
  return block;
}

/** The words of a one-command block, its `\` line ends joined. */
export function commandWords(block: string): string[] {
  return block.replaceAll("\\\n", " ").trim().split(/\s+/);
}

/** An environment where `deno` is the Deno running the tests. */
export function withThisDeno(env: Record<string, string> = {}): Record<string, string> {
  const bin = Deno.execPath().slice(0, Deno.execPath().lastIndexOf("/"));
  return { ...env, PATH: `${bin}:${Deno.env.get("PATH") ?? ""}`, NO_COLOR: "1" };
}
