import assert from "node:assert/strict";
import { parseCheckedArgs } from "../../src/cli/checked_args.ts";
import { runMidge } from "../fixtures/midge_process.ts";

/** An option table of the broker's shape. */
const OPTIONS = {
  config: { type: "string", short: "c" },
  verbose: { type: "boolean", short: "v" },
  "test-config": { type: "boolean" },
} as const;

/** The message `parseCheckedArgs` throws for `args`. */
function usageError(args: string[]): string {
  try {
    parseCheckedArgs(args, OPTIONS);
  } catch (error) {
    return (error as Error).message;
  }
  assert.fail(`no error for ${JSON.stringify(args)}`);
}

Deno.test("parseCheckedArgs reads options and leaves positionals to the caller", () => {
  const { values, positionals } = parseCheckedArgs(["-c", "m.conf", "-v", "extra"], OPTIONS);
  assert.deepEqual({ ...values }, { config: "m.conf", verbose: true });
  assert.deepEqual(positionals, ["extra"]);
  assert.deepEqual({ ...parseCheckedArgs(["--config=-odd.conf"], OPTIONS).values }, {
    config: "-odd.conf",
  });
});

Deno.test("parseCheckedArgs says what is wrong in our words, no parser text", () => {
  const cases: [string[], string][] = [
    [["-x"], "unknown option '-x'"],
    [["-vx"], "unknown option '-x'"],
    [["--colour"], "unknown option '--colour'"],
    [["--toString"], "unknown option '--toString'"],
    [["-c"], "-c needs a value"],
    [["--config"], "--config needs a value"],
    [["-c", "-v"], "-c needs a value"],
    [["--test-config=yes"], "--test-config takes no value"],
  ];
  for (const [args, expected] of cases) {
    const message = usageError(args);
    assert.equal(message, expected, JSON.stringify(args));
    assert.doesNotMatch(message, /positional|ambiguous|argument missing/);
  }
});

Deno.test("midge: a bad command line is refused in our words, naming the option", async () => {
  const cases: [string[], string][] = [
    [["-x"], "Error: unknown option '-x'"],
    [["-c"], "Error: -c needs a value"],
  ];
  for (const [args, expected] of cases) {
    const { code, stdout, stderr } = await runMidge(args);
    assert.notEqual(code, 0);
    assert.equal(stdout, "");
    assert.deepEqual(stderr.trimEnd().split("\n"), [expected, "Run 'midge broker -h' for usage."]);
  }
});
