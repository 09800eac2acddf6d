/**
 * The broker's command line read with node:util `parseArgs`, its usage errors in our own
 * words: every option is checked against the table first, so that none of the parser's own
 * messages (about `--` and positional arguments) reaches the user.
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";

/** An option table as `parseArgs` takes it. */
export type OptionTable = NonNullable<ParseArgsConfig["options"]>;

/**
 * `args` read with `options` (positional arguments allowed, left to the caller). Throws an
 * Error saying, in our words, which option is unknown, lacks its value or takes none.
 */
export function parseCheckedArgs<T extends OptionTable>(
  args: string[],
  options: T,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true }>> {
  const { tokens } = parseArgs({
    args,
    options,
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  for (const token of tokens) {
    if (token.kind !== "option") continue;
    const spec = Object.hasOwn(options, token.name) ? options[token.name] : undefined;
    if (spec === undefined) throw new Error(`unknown option '${token.rawName}'`);
    if (spec.type === "boolean" && token.value !== undefined) {
      throw new Error(`${token.rawName} takes no value`);
    }
    // A value that looks like an option (-c -v) is taken for a missing value, as the strict
    // parser below would.
    if (
      spec.type === "string" &&
      (token.value === undefined || (!token.inlineValue && token.value.startsWith("-")))
    ) {
      throw new Error(`${token.rawName} needs a value`);
    }
  }
  return parseArgs({ args, options, allowPositionals: true });
}
