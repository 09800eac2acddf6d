/**
 * `midge [broker] | convert | import | pub | sub | rr | passwd`: picks the command from the
 * first argument and runs it. Commands are loaded on demand so `midge pub` does not load the
 * broker.
 *
 * @module
 */

import { MIDGE_VERSION } from "../version.ts";
import { concatBytes } from "../codec/bytes.ts";
import type { CliIo } from "../tools/cli_io.ts";
import { EXIT_PERMISSION, exitOnRefusedPermission, refusedPermissionLine } from "./permissions.ts";

/** Exit code for a usage error or a command that is not available, as Mosquitto's tools use. */
export const EXIT_USAGE = 2;

/** A subcommand: a one-line summary and, once built, how to run it. */
interface Command {
  /** What the command does, for the usage text. */
  summary: string;
  /** Run with the arguments after the command name; resolves to the exit code. */
  run?: (args: string[], io: CliIo) => Promise<number>;
}

/** The commands; one without `run` is not built yet. */
const COMMANDS: Readonly<Record<string, Command>> = {
  broker: {
    summary: "run the MQTT broker (the default)",
    run: async (args, io) => (await import("./broker.ts")).runBroker(args, io),
  },
  convert: {
    summary: "print a mosquitto.conf file as Midge's TOML configuration",
    run: async (args, io) => (await import("../tools/convert.ts")).runConvert(args, io),
  },
  import: {
    summary: "bring Mosquitto 2.0's mosquitto.db into Midge's store",
    run: async (args, io) => (await import("../tools/import.ts")).runImport(args, io),
  },
  pub: {
    summary: "publish a message, like mosquitto_pub",
    run: async (args, io) => (await import("../tools/pub.ts")).runPub(args, io),
  },
  sub: {
    summary: "subscribe and print messages, like mosquitto_sub",
    run: async (args, io) => (await import("../tools/sub.ts")).runSub(args, io),
  },
  rr: {
    summary: "request and wait for a response, like mosquitto_rr",
    run: async (args, io) => (await import("../tools/rr.ts")).runRr(args, io),
  },
  passwd: {
    summary: "manage a password file, like mosquitto_passwd",
    run: async (args, io) => (await import("../tools/passwd.ts")).runPasswd(args, io),
  },
};

/** Mosquitto's program names and the commands that stand in for them. */
const MOSQUITTO_PROGRAMS: Readonly<Record<string, string>> = {
  mosquitto_pub: "pub",
  mosquitto_sub: "sub",
  mosquitto_rr: "rr",
  mosquitto_passwd: "passwd",
};

/**
 * The command to run when Midge was started under `path`'s name (a link named
 * `mosquitto_pub`, say), or undefined for any other name.
 */
export function commandForProgramName(path: string): string | undefined {
  const name = path.slice(path.lastIndexOf("/") + 1).replace(/\.(exe|ts)$/, "");
  return Object.hasOwn(MOSQUITTO_PROGRAMS, name) ? MOSQUITTO_PROGRAMS[name] : undefined;
}

/** The usage text of `midge help`. */
export function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) =>
    `  ${name.padEnd(8)}${c.summary}${c.run ? "" : " (not built yet)"}`
  );
  return [
    `midge ${MIDGE_VERSION}: an MQTT 3.1, 3.1.1 and 5.0 broker and its tools`,
    "",
    "Usage: midge [broker] [options]",
    "       midge <command> [options]",
    "",
    "Commands:",
    ...lines,
    "",
    "midge <command> --help shows a command's options.",
  ].join("\n");
}

/**
 * Standard output, written once per turn of the event loop: `sub` prints every message of a
 * read in one write() rather than one each (a system call per message halved its rate).
 */
class BufferedStdout {
  #chunks: Uint8Array[] = [];
  #scheduled = false;

  write(data: Uint8Array): void {
    this.#chunks.push(data);
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  flush(): void {
    this.#scheduled = false;
    const chunks = this.#chunks;
    if (chunks.length === 0) return;
    this.#chunks = [];
    const data = chunks.length === 1 ? chunks[0] : concatBytes(chunks);
    let off = 0;
    for (let i = 0; off < data.length && i < 1_000_000; i++) {
      off += Deno.stdout.writeSync(data.subarray(off));
    }
  }
}

const stdout = new BufferedStdout();
const encoder = new TextEncoder();

const consoleIo: CliIo = {
  out: (l) => stdout.write(encoder.encode(l + "\n")),
  err: (l) => {
    stdout.flush(); // keep stdout and stderr in the order they were written
    console.error(l);
  },
  write: (data) => stdout.write(data),
};

/**
 * Run `midge` with `args` (the command line without the program name) and resolve to the exit
 * code. Arguments that start with "-" and no command mean the broker, as with `mosquitto -c`.
 */
export async function runCli(args: string[], io: CliIo = consoleIo): Promise<number> {
  const first = args[0];
  if (first === "help" || first === "--help" || first === "-h") {
    io.out(usage());
    return 0;
  }
  if (first === "version" || first === "--version") {
    io.out(`midge ${MIDGE_VERSION}`);
    return 0;
  }
  const named = first !== undefined && !first.startsWith("-");
  const name = named ? first : "broker";
  const command = COMMANDS[name];
  if (command === undefined) {
    io.err(`midge: unknown command '${name}'. Run 'midge help' for the list of commands.`);
    return EXIT_USAGE;
  }
  if (command.run === undefined) {
    io.err(`midge: '${name}' is not built yet in this version (${MIDGE_VERSION}).`);
    return EXIT_USAGE;
  }
  if (io === consoleIo) exitOnRefusedPermission(io);
  let code: number;
  try {
    code = await command.run(named ? args.slice(1) : args, io);
  } catch (error) {
    const refused = refusedPermissionLine(error);
    if (refused === undefined) throw error;
    io.err(refused);
    code = EXIT_PERMISSION;
  }
  if (io === consoleIo) stdout.flush();
  return code;
}
