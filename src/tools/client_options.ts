/**
 * The command lines of `pub`, `sub` and `rr`, read exactly as Mosquitto 2.0.11's mosquitto_pub,
 * mosquitto_sub and mosquitto_rr read theirs: the default options file first
 * (`$XDG_CONFIG_HOME/mosquitto_pub` or `$HOME/.config/mosquitto_pub`, ...), then the
 * arguments, the same checks in the same order, the same error lines and exit code (1, also
 * for `--help`). Midge adds `-o FILE`, which reads more options from a file in place.
 *
 * @module
 */

import { applyArgs } from "./client_options_args.ts";
import { defaultOptionsFile, type OptionsFileEnv, readOptionsFile } from "./client_options_file.ts";
import { checkLoaded, checkTool, type ReadStdin, refusal } from "./client_options_checks.ts";
import {
  type ClientOptions,
  finishDraft,
  newDraft,
  type OptionsDraft,
  type ToolName,
} from "./client_options_shape.ts";
import { usageLines, versionLine } from "./client_options_usage.ts";

export type { ClientOptions, ToolName };

/**
 * What parsing gave: options, or what to print and the exit code. `stdout` and `stderr` are
 * lines, each to be written followed by "\n".
 */
export type ParsedArgs =
  | { ok: true; options: ClientOptions }
  | { ok: false; exitCode: number; stderr: string[]; stdout: string[] };

/** The environment parsing reads; every field has a default from the process. */
export interface ParseEnv extends OptionsFileEnv {
  /** Program name in messages; default `mosquitto_<tool>`. */
  program?: string;
  /** Read all of standard input (pub `-s`); default `Deno.stdin`. */
  readStdin?: ReadStdin;
}

/** How deep `-o` files may include each other. */
const MAX_INCLUDE_DEPTH = 10;

type Failure = Extract<ParsedArgs, { ok: false }>;

/** Read `args` into `draft`, reading `-o` files in place; undefined when all went well. */
async function applyAll(
  draft: OptionsDraft,
  args: string[],
  depth = 0,
): Promise<Failure | undefined> {
  const { tool, program } = draft.options;
  const hint = ["", `Use '${program} --help' to see usage.`];
  for (let start = 0;;) {
    const result = applyArgs(draft, args, start);
    switch (result.kind) {
      case "done":
        return undefined;
      case "help":
        return refusal([], usageLines(tool, program));
      case "version":
        return refusal([], [versionLine(program)]);
      case "error":
        return refusal([...result.lines, ...hint]);
      case "include": {
        const lines = depth < MAX_INCLUDE_DEPTH ? await readOptionsFile(result.file) : undefined;
        if (lines === undefined) {
          return refusal([`Error: Unable to read options file "${result.file}".`, "", ...hint]);
        }
        for (const line of lines) {
          const nested = await applyAll(draft, line, depth + 1);
          if (nested !== undefined) return nested;
        }
        start = result.next;
      }
    }
  }
}

/** `env` with `home` and `xdgConfigHome` taken from the process where `env` lacks the key. */
function withProcessEnv(env: ParseEnv): ParseEnv {
  const read = (name: string) => {
    try {
      return Deno.env.get(name);
    } catch {
      return undefined; // no --allow-env: as if unset
    }
  };
  return {
    ...env,
    home: "home" in env ? env.home : read("HOME"),
    xdgConfigHome: "xdgConfigHome" in env ? env.xdgConfigHome : read("XDG_CONFIG_HOME"),
  };
}

/**
 * Parse the arguments of `tool` (without the program name) as Mosquitto 2.0.11's client
 * tools do: the default options file first, then `args`. The file is picked by
 * `env.xdgConfigHome` and `env.home`; a key missing from `env` is read from the process
 * environment, a key present with `undefined` counts as unset. Reads pub's `-f` file or `-s`
 * input (`env.readStdin`).
 *
 * @example
 * ```ts
 * const parsed = await parseClientArgs("sub", ["-t", "a/#", "-v"], {});
 * if (parsed.ok) console.log(parsed.options.topics); // ["a/#"]
 * ```
 */
export async function parseClientArgs(
  tool: ToolName,
  args: string[],
  env?: ParseEnv,
): Promise<ParsedArgs> {
  const environment = withProcessEnv(env ?? {});
  const program = environment.program ?? `mosquitto_${tool}`;
  const draft = newDraft(tool, program);
  const defaultFile = defaultOptionsFile(`mosquitto_${tool}`, environment);
  const fileArgs = defaultFile === undefined ? undefined : await readOptionsFile(defaultFile);
  for (const line of fileArgs ?? []) {
    const failed = await applyAll(draft, line);
    if (failed !== undefined) return failed;
  }
  const failed = await applyAll(draft, args);
  if (failed !== undefined) return failed;
  const problem = checkLoaded(draft);
  if (problem !== undefined) {
    return refusal([problem, "", `Use '${program} --help' to see usage.`]);
  }
  const toolProblem = await checkTool(draft, environment.readStdin);
  if (toolProblem !== undefined) return toolProblem;
  return { ok: true, options: finishDraft(draft) };
}
