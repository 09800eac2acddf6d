/**
 * `midge convert FILE`: print a mosquitto.conf file (with the files its include_dir lines
 * load) as Midge's TOML configuration, with comments, on standard output; exit 1 when any line
 * could not be converted, naming each on standard error.
 *
 * @module
 */

import { convertMosquitto } from "../config/convert.ts";
import { ConfigError, formatProblem, sortProblems } from "../config/errors.ts";
import { readMosquittoConf } from "../config/mosquitto_conf.ts";
import type { CliIo } from "./cli_io.ts";

const USAGE = "Usage: midge convert FILE";

const HELP = `${USAGE}

Print the mosquitto.conf FILE, and the files its include_dir lines load, as a Midge TOML
configuration on standard output: each key with its documentation and the line it came from.

Exit status: 0 when every line was converted. 1 when a line could not be (an unknown or
misspelt option, a bad value, an option where Mosquitto ignores it): the TOML is still
printed, with such lines kept as "# UNKNOWN:" comments, and each is named on standard error
with its file and line. Such a TOML does not mean what the mosquitto.conf meant (a misspelt
allow_anonymous would leave anonymous access at its default): fix the lines first. 1 also when
the file cannot be read or a line is misplaced; then nothing is printed.

Example: midge convert /etc/mosquitto/mosquitto.conf > midge.toml`;

/** Run `midge convert` with `args` (after the command name); resolves to the exit code. */
export async function runConvert(args: string[], io: CliIo): Promise<number> {
  if (args.includes("-h") || args.includes("--help")) {
    io.out(HELP);
    return 0;
  }
  const files = args[0] === "--" ? args.slice(1) : args;
  const option = args[0] === "--" ? undefined : files.find((a) => a.startsWith("-"));
  if (option !== undefined || files.length !== 1) {
    io.err(
      option !== undefined
        ? `midge convert: unknown option '${option}'`
        : files.length === 0
        ? "midge convert: which file? Give the mosquitto.conf to convert."
        : `midge convert: one file at a time, not ${files.length}`,
    );
    io.err(USAGE);
    return 1;
  }
  const path = files[0];
  if (path.toLowerCase().endsWith(".toml")) {
    io.err(`midge convert: ${path} is a TOML file already; give a mosquitto.conf file`);
    io.err(USAGE);
    return 1;
  }
  let raw;
  try {
    raw = await readMosquittoConf(path);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // Nothing is printed; the lines that would not convert either are named with the rest.
    const more = error.readSoFar === undefined ? [] : convertMosquitto(error.readSoFar).unconverted;
    for (const problem of sortProblems([...error.problems, ...more])) {
      io.err(formatProblem(problem));
    }
    return 1;
  }
  const { toml, unconverted } = convertMosquitto(raw);
  io.out(toml.trimEnd());
  if (unconverted.length === 0) return 0;
  for (const problem of unconverted) io.err(formatProblem(problem));
  const n = unconverted.length;
  io.err(
    `midge convert: ${n} line${n === 1 ? "" : "s"} of ${path} could not be converted; ` +
      'they are kept as "# UNKNOWN:" comments and the TOML is incomplete.',
  );
  return 1;
}
