/**
 * `midge passwd`: Mosquitto 2.0.11's `mosquitto_passwd`, with its options, messages and exit
 * codes (1 for an error, 2 when the two passwords typed differ).
 *
 * ```
 * midge passwd [-H sha512-pbkdf2 | -H sha512] [-c | -D] passwordfile username
 * midge passwd [-H sha512-pbkdf2 | -H sha512] [-c] -b passwordfile username password
 * midge passwd -U passwordfile
 * ```
 *
 * Where it differs, on purpose: the file is replaced atomically (a temporary file renamed over
 * it) and a new file is created 0600; comment and blank lines are kept; a corrupt line stops
 * every command with the file untouched; an empty username is refused; a last line without a
 * newline gets one; on a terminal, Backspace and Ctrl-U work and Ctrl-C exits with 130.
 *
 * @module
 */

import { fsReason } from "../config/errors.ts";
import {
  binaryToBytes,
  bytesToBinary,
  deleteUser,
  type EditOutcome,
  hashPlainPasswords,
  setPassword,
  userLine,
  utf8ToBinary,
} from "../auth/password_edit.ts";
import { DEFAULT_ITERATIONS, type HashType } from "../auth/password_hash.ts";
import { PasswordReader, type PromptInput } from "../auth/password_prompt.ts";
import { ReplaceError, replaceFile, type ResolvedPath, resolvePath } from "../auth/replace_file.ts";
import { MIDGE_VERSION } from "../version.ts";
import type { CliIo } from "./cli_io.ts";

/** Exit code for an error, as mosquitto_passwd uses for every error. */
const EXIT_ERROR = 1;
/** Exit code when the two passwords typed differ. */
const EXIT_MISMATCH = 2;
/** Exit code after Ctrl-C at a prompt (128 + SIGINT). */
const EXIT_INTERRUPTED = 130;

/** The longest username or password mosquitto_passwd takes, in bytes. */
const MAX_FIELD_BYTES = 65535;

/** Options of `runPasswd`, for tests and for running as `mosquitto_passwd`. */
export interface PasswdOptions {
  /** Standard input, for the password prompts (default Deno.stdin). */
  stdin?: PromptInput;
  /** The program name in the usage text (default `mosquitto_passwd`). */
  program?: string;
}

/** What the command line asks for. */
interface Plan {
  /** `-c`, `-D`, `-U`, or adding/updating a user. */
  mode: "create" | "delete" | "upgrade" | "update";
  /** The password file, as given. */
  file: string;
  /** The user (not for `-U`). */
  username?: string;
  /** The password given with `-b`. */
  password?: string;
  /** `-H`. */
  type: HashType;
  /** `-I`. */
  iterations: number;
}

/** A refusal: an error line for stderr, or the usage text. */
type Refusal = { error: string } | { usage: true };

function usage(program: string): string[] {
  return [
    `${program}: add, change or delete users of a password file for Midge or Mosquitto.`,
    `${program} version ${MIDGE_VERSION} (Midge ${MIDGE_VERSION}).`,
    "",
    `Usage: ${program} [-H sha512 | -H sha512-pbkdf2] [-c | -D] passwordfile username`,
    `       ${program} [-H sha512 | -H sha512-pbkdf2] [-c] -b passwordfile username password`,
    `       ${program} -U passwordfile`,
    "",
    " -b : batch mode: the password is the last argument (visible to ps and in shell history).",
    " -c : create the file, replacing any file of that name.",
    " -D : delete the user.",
    " -H : the hash: sha512-pbkdf2 (PBKDF2-HMAC-SHA512, the default) or sha512 (one SHA-512",
    "      round, for Mosquitto 1.6 and older).",
    ` -I : PBKDF2 iterations (default ${DEFAULT_ITERATIONS}).`,
    " -U : hash every password of a file of plain-text passwords. Passwords that are hashes",
    "      already get hashed again, which makes them unusable.",
    "",
    "Without -b the password is asked for twice (not echoed on a terminal).",
    "The file is replaced atomically; a new file is readable by its owner only.",
  ];
}

/** C's atoi. */
function atoi(text: string): number {
  const match = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(text);
  return match === null ? 0 : Math.max(-1, Math.min(Number(match[1]), 2 ** 31 - 1));
}

/** Read the command line as mosquitto_passwd 2.0.11 does: options first, then positionals. */
function parseArgs(args: string[]): Plan | Refusal {
  if (args.length === 0) return { usage: true };
  let batch = false, create = false, remove = false, upgrade = false;
  let type: HashType = "sha512-pbkdf2";
  let iterations = DEFAULT_ITERATIONS;
  let idx = 0;
  for (; idx < args.length; idx++) {
    const arg = args[idx];
    if (arg === "-H") {
      if (idx + 1 === args.length) {
        return { error: "Error: -H argument given but not enough other arguments." };
      }
      const name = args[++idx];
      if (name !== "sha512" && name !== "sha512-pbkdf2") {
        return { error: `Error: Unknown hash type '${name}'` };
      }
      type = name;
    } else if (arg === "-I") {
      if (idx + 1 === args.length) {
        return { error: "Error: -I argument given but not enough other arguments." };
      }
      iterations = atoi(args[++idx]);
      if (iterations < 1) return { error: "Error: Number of iterations must be > 0." };
    } else if (arg === "-b") batch = true;
    else if (arg === "-c") create = true;
    else if (arg === "-D") remove = true;
    else if (arg === "-U") upgrade = true;
    else break;
  }
  if (create && remove) return { error: "Error: -c and -D cannot be used together." };
  if (create && upgrade) return { error: "Error: -c and -U cannot be used together." };
  if (remove && upgrade) return { error: "Error: -D and -U cannot be used together." };
  if (remove && batch) return { error: "Error: -b and -D cannot be used together." };
  const rest = args.slice(idx);
  const plan = { type, iterations };
  if (create) {
    if (batch && rest.length < 3) {
      return {
        error: "Error: -c argument given but password file, username, or password missing.",
      };
    }
    if (rest.length < 2) {
      return { error: "Error: -c argument given but password file or username missing." };
    }
    const [file, username, password] = rest;
    return { mode: "create", file, username, password: batch ? password : undefined, ...plan };
  }
  if (remove) {
    if (rest.length < 2) {
      return { error: "Error: -D argument given but password file or username missing." };
    }
    return { mode: "delete", file: rest[0], username: rest[1], ...plan };
  }
  if (upgrade) {
    if (rest.length !== 1) return { error: "Error: -U argument given but password file missing." };
    return { mode: "upgrade", file: rest[0], ...plan };
  }
  if (batch && rest.length === 3) {
    return { mode: "update", file: rest[0], username: rest[1], password: rest[2], ...plan };
  }
  if (!batch && rest.length === 2) {
    return { mode: "update", file: rest[0], username: rest[1], ...plan };
  }
  return { usage: true };
}

const encoder = new TextEncoder();

/** Why `username` cannot be written to a password file, if it cannot. */
function usernameProblem(username: string): string | undefined {
  if (encoder.encode(username).length > MAX_FIELD_BYTES) {
    return "Error: Username must be less than 65536 characters long.";
  }
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(username)) {
    return "Error: Username must not contain control characters.";
  }
  if (username.includes(":")) return "Error: Username must not contain the ':' character.";
  // mosquitto_passwd writes ":HASH", a line that neither it nor the broker can use.
  if (username === "") return "Error: Username must not be empty.";
  return undefined;
}

/** Ask for the password twice; the password, or the exit code. */
async function askPassword(io: CliIo, reader: PasswordReader): Promise<Uint8Array | number> {
  const typed: Uint8Array[] = [];
  for (const prompt of ["Password: ", "Reenter password: "]) {
    if (io.write) io.write(encoder.encode(prompt));
    const line = await reader.readLine();
    const ok = line instanceof Uint8Array && line.length > 0;
    if (io.write) {
      if (ok || line === "interrupted") io.write(encoder.encode("\n"));
    } else {
      io.out(prompt);
    }
    if (line === "interrupted") return EXIT_INTERRUPTED;
    if (!ok) {
      io.err("Error: Empty password.");
      return EXIT_ERROR;
    }
    if (line.length > MAX_FIELD_BYTES) {
      io.err("Error: Password must be less than 65536 characters long.");
      return EXIT_ERROR;
    }
    typed.push(line);
  }
  const [first, second] = typed;
  if (first.length !== second.length || first.some((b, i) => b !== second[i])) {
    io.err("Error: Passwords do not match.");
    return EXIT_MISMATCH;
  }
  second.fill(0);
  return first;
}

/** Print what went wrong with an edit of `plan`'s file; its exit code. */
function reportOutcome(io: CliIo, failed: { outcome: EditOutcome; plan: Plan }): number {
  const { outcome, plan } = failed;
  if (outcome.kind === "corrupt") {
    io.err(`Error: Corrupt password file at line ${outcome.line}.`);
    if (plan.mode === "delete" && !outcome.found) {
      io.err(`Warning: User ${plan.username} not found in password file.`);
    }
  } else if (outcome.kind === "not found") {
    io.err(`Warning: User ${plan.username} not found in password file.`);
  }
  // "no users" (-U on a file without users) fails silently, as mosquitto_passwd's does.
  return EXIT_ERROR;
}

/** What to write where, and the message for a failure. */
interface Write {
  /** The file to replace. */
  target: string;
  /** Its new text (a binary string). */
  text: string;
  /** The error line for a failure at `stage` because of `reason`. */
  failure: (reason: string, stage: ReplaceError["stage"]) => string;
}

/** Replace the file; the exit code, with the error printed. */
async function write(io: CliIo, { target, text, failure }: Write): Promise<number> {
  try {
    await replaceFile(target, binaryToBytes(text));
    return 0;
  } catch (error) {
    if (!(error instanceof ReplaceError)) throw error;
    io.err(failure(fsReason(error.cause), error.stage));
    return EXIT_ERROR;
  }
}

/** Read the file to edit (it must be readable and writable); its text or the exit code. */
async function readForEdit(
  io: CliIo,
  { display, target }: ResolvedPath,
): Promise<string | number> {
  try {
    (await Deno.open(target, { read: true, write: true })).close();
    return bytesToBinary(await Deno.readFile(target));
  } catch (error) {
    io.err(`Error: Unable to open password file ${display}. ${fsReason(error)}.`);
    return EXIT_ERROR;
  }
}

/**
 * Run `midge passwd` with `args` (after the command name); resolves to the exit code. The
 * password prompts read `options.stdin` (default Deno.stdin).
 */
export async function runPasswd(
  args: string[],
  io: CliIo,
  options: PasswdOptions = {},
): Promise<number> {
  const plan = parseArgs(args);
  if ("usage" in plan) {
    for (const line of usage(options.program ?? "mosquitto_passwd")) io.out(line);
    return EXIT_ERROR;
  }
  if ("error" in plan) {
    io.err(plan.error);
    return EXIT_ERROR;
  }
  const problem = plan.username === undefined ? undefined : usernameProblem(plan.username);
  if (problem !== undefined) {
    io.err(problem);
    return EXIT_ERROR;
  }
  if (plan.password !== undefined && encoder.encode(plan.password).length > MAX_FIELD_BYTES) {
    io.err("Error: Password must be less than 65536 characters long.");
    return EXIT_ERROR;
  }
  let resolved;
  try {
    resolved = await resolvePath(plan.file);
  } catch (error) {
    io.err(`Error reading password file: ${fsReason(error)}`);
    return EXIT_ERROR;
  }
  const { display, target } = resolved;
  const reader = new PasswordReader(options.stdin);
  const hashing = { type: plan.type, iterations: plan.iterations };
  const username = plan.username === undefined ? "" : utf8ToBinary(plan.username);
  const given = async (): Promise<Uint8Array | number> =>
    plan.password === undefined ? await askPassword(io, reader) : encoder.encode(plan.password);

  if (plan.mode === "create") {
    const password = await given();
    if (typeof password === "number") return password;
    const text = (await userLine(username, password, hashing)) + "\n";
    return await write(io, {
      target,
      text,
      failure: (why) => `Error: Unable to open file ${display} for writing. ${why}.`,
    });
  }

  const text = await readForEdit(io, resolved);
  if (typeof text === "number") return text;
  let outcome: EditOutcome;
  if (plan.mode === "delete") {
    outcome = deleteUser(text, username);
  } else if (plan.mode === "upgrade") {
    // mosquitto_passwd -U takes -H but not -I.
    outcome = await hashPlainPasswords(text, { type: plan.type });
  } else {
    const password = await given();
    if (typeof password === "number") return password;
    outcome = await setPassword(text, { username, password }, hashing);
  }
  if (outcome.kind !== "ok") return reportOutcome(io, { outcome, plan });
  return await write(io, {
    target,
    text: outcome.text,
    failure: (why, stage) =>
      stage === "temp"
        ? `Error: Unable to open temporary file. ${why}.`
        : `Error: Unable to write password file ${display}. ${why}.`,
  });
}
