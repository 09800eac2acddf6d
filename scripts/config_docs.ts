/**
 * Configuration documentation from the schema in `src/config/`: writes `conf/midge.toml` (every
 * key, commented out at its default) and the README's option table (between the markers
 * `<!-- config-options:start -->` and `<!-- config-options:end -->`).
 *
 *     deno run -A scripts/config_docs.ts           rewrite both
 *     deno run -A scripts/config_docs.ts --check   exit 1, saying what differs, if out of date
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { renderExampleToml } from "./config_docs/example_toml.ts";
import { renderOptionTable } from "./config_docs/option_table.ts";

/** The README line before the generated table. */
export const START_MARKER = "<!-- config-options:start -->";
/** The README line after the generated table. */
export const END_MARKER = "<!-- config-options:end -->";

/** The repository root (the parent of scripts/). */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url));

/** A generated file and its expected content. */
interface Output {
  /** Path relative to the root. */
  path: string;
  /** The expected text, given the file's current text. */
  expected(current: string): string;
}

const OUTPUTS: readonly Output[] = [
  { path: "conf/midge.toml", expected: () => renderExampleToml() },
  { path: "README.md", expected: (current) => replaceBlock(current, renderOptionTable()) },
];

/** `readme` with the text between the markers replaced by `block`; throws without markers. */
function replaceBlock(readme: string, block: string): string {
  const start = readme.indexOf(START_MARKER);
  const end = readme.indexOf(END_MARKER);
  if (start < 0 || end < start) {
    throw new Error(`README.md needs the lines ${START_MARKER} and ${END_MARKER}, in that order`);
  }
  const before = readme.slice(0, start + START_MARKER.length);
  return `${before}\n\n${block}\n${readme.slice(end)}`;
}

/**
 * Compare the generated files under `root` with what the schema gives; resolves to one
 * description per file that differs (empty when everything is up to date).
 */
export async function checkDocs(root: string = ROOT): Promise<string[]> {
  const problems: string[] = [];
  for (const output of OUTPUTS) {
    const current = await readOrEmpty(join(root, output.path));
    const expected = output.expected(current);
    if (current !== expected) {
      problems.push(`${output.path}: ${firstDifference(current, expected)}`);
    }
  }
  return problems;
}

/** Rewrite the generated files under `root`; resolves to the paths that changed. */
async function writeDocs(root: string = ROOT): Promise<string[]> {
  const changed: string[] = [];
  for (const output of OUTPUTS) {
    const path = join(root, output.path);
    const current = await readOrEmpty(path);
    const expected = output.expected(current);
    if (current !== expected) {
      await Deno.writeTextFile(path, expected);
      changed.push(output.path);
    }
  }
  return changed;
}

async function readOrEmpty(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "";
    throw error;
  }
}

/** Where two texts first differ, line by line, with both versions of that line. */
function firstDifference(current: string, expected: string): string {
  const a = current.split("\n");
  const b = expected.split("\n");
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return `out of date from line ${i + 1} (${a.length} lines now, ${b.length} expected):\n` +
    `  now:      ${a[i] ?? "(end of file)"}\n  expected: ${b[i] ?? "(end of file)"}`;
}

if (import.meta.main) {
  if (Deno.args.includes("--check")) {
    const problems = await checkDocs();
    for (const problem of problems) console.error(problem);
    if (problems.length > 0) {
      console.error("Run `deno task docs` to regenerate.");
      Deno.exit(1);
    }
    console.log("conf/midge.toml and the README option table are up to date.");
  } else {
    const changed = await writeDocs();
    console.log(changed.length === 0 ? "Nothing to change." : `Wrote ${changed.join(", ")}.`);
  }
}
