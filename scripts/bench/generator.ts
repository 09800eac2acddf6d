/**
 * The load generator as a process of its own, so that `scripts/bench.ts` can pin it to one core
 * (`taskset -c 0`) and give every run a fresh heap:
 *
 * ```
 * deno run -A scripts/bench/generator.ts '{"kind":"load","spec":{...}}'
 * ```
 *
 * The argument is a `GeneratorJob` as JSON; the result is printed as one line
 * `RESULT {json}` on standard output. Exit code 0 on a completed run (exact or not), 2 when
 * the run could not be made (connection setup failed).
 *
 * @module
 */

import { type ConnsResult, type ConnsSpec, runConns } from "./conns.ts";
import { type LoadResult, type LoadSpec, runLoad } from "./loadgen.ts";

/** What the generator process is asked to do. */
export type GeneratorJob = { kind: "load"; spec: LoadSpec } | { kind: "conns"; spec: ConnsSpec };

/** What it answers. */
export type GeneratorOutput =
  | { kind: "load"; result: LoadResult }
  | { kind: "conns"; result: ConnsResult }
  | { kind: "error"; message: string };

/** The prefix of the result line. */
export const RESULT_PREFIX = "RESULT ";

/** Run `job` and print its result line; resolves to the exit code. */
export async function runJob(job: GeneratorJob): Promise<number> {
  let output: GeneratorOutput;
  try {
    output = job.kind === "load"
      ? { kind: "load", result: await runLoad(job.spec) }
      : { kind: "conns", result: await runConns(job.spec) };
  } catch (error) {
    output = { kind: "error", message: (error as Error).message };
  }
  console.log(RESULT_PREFIX + JSON.stringify(output));
  return output.kind === "error" ? 2 : 0;
}

if (import.meta.main) {
  const arg = Deno.args[0];
  if (arg === undefined) {
    console.error("usage: deno run -A scripts/bench/generator.ts '<GeneratorJob JSON>'");
    Deno.exit(1);
  }
  Deno.exit(await runJob(JSON.parse(arg) as GeneratorJob));
}
