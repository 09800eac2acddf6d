/**
 * The Deno flags Midge runs with, read from `deno.json` (the `start` task's `--v8-flags` and the
 * `unstable` features) so that the compiled binary and the release launcher cannot drift from
 * `deno task start`.
 *
 * @module
 */

const DENO_JSON = new URL("../../deno.json", import.meta.url);

/** The parts of deno.json read here. */
interface DenoJson {
  tasks?: Record<string, string>;
  unstable?: string[];
}

/**
 * `--unstable-<feature>` for each feature deno.json enables, then the V8 flags of its `start`
 * task (e.g. `--v8-flags=--max-semi-space-size=2,--single-threaded-gc`), if it has any.
 */
export async function startTaskFlags(): Promise<string[]> {
  const json: DenoJson = JSON.parse(await Deno.readTextFile(DENO_JSON));
  const unstable = (json.unstable ?? []).map((feature) => `--unstable-${feature}`);
  const start = json.tasks?.start ?? "";
  const v8 = start.split(/\s+/).filter((word) => word.startsWith("--v8-flags="));
  return [...unstable, ...v8];
}
