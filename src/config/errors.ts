/**
 * Configuration errors: every problem of a file, each naming the file, the line and the key,
 * so that the broker can refuse to start with all of them at once.
 *
 * @module
 */

import type { Origin, RawConfig } from "./raw.ts";

/** One problem: `FILE:LINE: KEY: MESSAGE` (line 0: the file as a whole). */
export interface ConfigProblem {
  /** Where. */
  origin: Origin;
  /** The key's path (`listener[1].port`), or "" for a syntax error. */
  key: string;
  /** What is wrong. */
  message: string;
  /** Column of a syntax error. */
  column?: number;
}

/** The line a user reads for `problem`. */
export function formatProblem(problem: ConfigProblem): string {
  const { file, line } = problem.origin;
  const at = line === 0
    ? file
    : problem.column === undefined
    ? `${file}:${line}`
    : `${file}:${line}:${problem.column}`;
  return problem.key === ""
    ? `${at}: ${problem.message}`
    : `${at}: ${problem.key}: ${problem.message}`;
}

/** `problems` sorted by file, then line (a stable sort: same-line problems keep their order). */
export function sortProblems(problems: ConfigProblem[]): ConfigProblem[] {
  return problems.sort((a, b) =>
    a.origin.file === b.origin.file
      ? a.origin.line - b.origin.line
      : a.origin.file < b.origin.file
      ? -1
      : 1
  );
}

/** A file that cannot be used; `message` holds one line per problem. */
export class ConfigError extends Error {
  /** The problems, in file order. */
  readonly problems: readonly ConfigProblem[];
  /**
   * When reading found the problems: the rest of the file, read without the lines at fault, so
   * that its values can be checked too and every problem reported at once.
   */
  readonly readSoFar: RawConfig | undefined;

  /** An error listing `problems`; `readSoFar` as the reader could still make it out. */
  constructor(problems: readonly ConfigProblem[], readSoFar?: RawConfig) {
    super(problems.map(formatProblem).join("\n"));
    this.name = "ConfigError";
    this.problems = problems;
    this.readSoFar = readSoFar;
  }
}

/** An error from the file system, without Deno's "(os error N)" suffix. */
export function fsReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/ \(os error \d+\).*$/s, "");
}

/** The text of the configuration file at `path`; a file that cannot be read is a ConfigError. */
export async function readConfigText(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new ConfigError([{
      origin: { file: path, line: 0 },
      key: "",
      message: `cannot read: ${fsReason(error)}`,
    }]);
  }
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
    }
    previous = current;
  }
  return previous[b.length];
}

/** The name among `candidates` closest to `key`, if one is close enough to be a typo. */
export function closestName(key: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = distance(key, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}
