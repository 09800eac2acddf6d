/**
 * The command line the benchmarks share: `--quick`, `--reps N` and, where a benchmark has
 * runs to choose from, `--only LIST`.
 *
 * @module
 */

import { parseArgs } from "node:util";

/** What a benchmark's command line asks for. */
export interface BenchOptions<Name extends string> {
  /** One repetition of short runs. */
  quick: boolean;
  /** The runs chosen with `--only`; empty for all. */
  only: Name[];
  /** Repetitions (default 3; `--quick`: 1). */
  reps: number;
}

/**
 * Read `args` of the benchmark `program` (`names`: what `--only` may choose; none: no
 * `--only`). A number is the exit code to end with at once: 0 after printing `usage` for
 * `--help`, 1 after saying what is wrong with the command line.
 */
export function readBenchOptions<Name extends string>(
  program: string,
  usage: string,
  args: string[],
  names: readonly Name[] = [],
): BenchOptions<Name> | number {
  try {
    const { values } = parseArgs({
      args,
      options: {
        quick: { type: "boolean" },
        reps: { type: "string" },
        help: { type: "boolean", short: "h" },
        ...(names.length > 0 ? { only: { type: "string", multiple: true } } : {}),
      },
    });
    if (values.help) {
      console.log(usage);
      return 0;
    }
    const listed = (values.only as string[] | undefined) ?? [];
    const only = listed.flatMap((s) => s.split(",")).filter((s) => s !== "");
    for (const name of only) {
      if (!names.includes(name as Name)) {
        throw new Error(`--only: unknown run '${name}' (${names.join(", ")})`);
      }
    }
    const reps = values.reps !== undefined ? Number(values.reps) : values.quick ? 1 : 3;
    if (!Number.isInteger(reps) || reps < 1 || reps > 20) throw new Error("--reps: 1-20");
    return { quick: values.quick ?? false, only: only as Name[], reps };
  } catch (error) {
    console.error(`${program}: ${(error as Error).message}\n${usage}`);
    return 1;
  }
}
