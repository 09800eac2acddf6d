/**
 * Mosquitto's `password_file`, as its 2.0 broker reads it, for the broker to check a CONNECT's
 * username and password:
 *
 * ```
 * # a comment: the line's first character is '#'
 * alice:$7$101$SALT$HASH      PBKDF2-HMAC-SHA512 (mosquitto_passwd's default)
 * bob:$6$SALT$HASH            SHA-512 (mosquitto_passwd -H sha512)
 * ```
 *
 * Like Mosquitto, a line that cannot be used does not stop the broker: the line is left out
 * (that user cannot log in) and a problem naming the file and line is kept in `problems` for
 * the log. Lines without a `:` (blank lines among them) are skipped; when a user has several
 * usable lines, the last one counts. Only a file that cannot be read is an error.
 *
 * @module
 */

import { type ConfigProblem, readConfigText } from "../config/errors.ts";
import {
  DEFAULT_ITERATIONS,
  digestPassword,
  HASH_LENGTH,
  type HashProblem,
  parseHash,
  type PasswordHash,
  SALT_LENGTH,
} from "./password_hash.ts";
import { isBlankLine, isCommentLine, splitLines, splitPasswordLine } from "./password_line.ts";

/** The longest username or hash field the broker takes, in bytes. */
const MAX_FIELD_BYTES = 65535;

/** A line of the file that was left out or that overrides another, for the log. */
export interface PasswordFileProblem extends ConfigProblem {
  /** `error` for a user's line left out, `warning` for the rest (Mosquitto's log levels). */
  level: "error" | "warning";
}

/** What `verify` found: the password matches, no such user, or it does not match. */
export type Verdict = "ok" | "unknown user" | "bad password";

/** A user's usable line. */
interface Entry extends PasswordHash {
  /** Line number, to report a later line for the same user. */
  line: number;
}

const HASH_MESSAGES: Readonly<Record<HashProblem, string>> = {
  "invalid password hash": "Invalid password hash",
  "invalid password hash type": "Invalid password hash type",
  "invalid hash iterations": "Invalid hash iterations",
  "unable to decode password salt": "Unable to decode password salt",
  "unable to decode password": "Unable to decode password",
};

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

/** A loaded password file: usernames and their hashes. */
export class PasswordFile {
  /** Where it was read from. */
  readonly file: string;
  /** Lines left out or overridden, in file order; empty for a clean file. */
  readonly problems: readonly PasswordFileProblem[];
  #users: Map<string, Entry>;
  #dummy: PasswordHash;

  private constructor(file: string, users: Map<string, Entry>, problems: PasswordFileProblem[]) {
    this.file = file;
    this.#users = users;
    this.problems = problems;
    const template = users.values().next().value;
    // Unknown users are hashed too, with a random salt, so that timing does not tell them
    // from known ones (with the cost of the file's first entry).
    this.#dummy = {
      type: template?.type ?? "sha512-pbkdf2",
      iterations: template?.iterations ?? DEFAULT_ITERATIONS,
      salt: crypto.getRandomValues(new Uint8Array(SALT_LENGTH)),
      hash: crypto.getRandomValues(new Uint8Array(HASH_LENGTH)),
    };
  }

  /**
   * Read and parse the file at `path`. Throws ConfigError when it cannot be read (Mosquitto
   * then refuses to start); bad lines are in `problems`.
   */
  static async load(path: string): Promise<PasswordFile> {
    return PasswordFile.parse(await readConfigText(path), path);
  }

  /** Parse the text of a password file read from `file`. */
  static parse(text: string, file: string): PasswordFile {
    const users = new Map<string, Entry>();
    const problems: PasswordFileProblem[] = [];
    splitLines(text).forEach((raw, i) => {
      const line = i + 1;
      const problem = (level: "error" | "warning", message: string): void => {
        problems.push({ origin: { file, line }, key: "", message, level });
      };
      if (isCommentLine(raw)) return;
      if (!raw.includes(":")) {
        if (!isBlankLine(raw)) problem("warning", "No ':' after the username, ignoring line.");
        return;
      }
      const { username, password } = splitPasswordLine(raw);
      if (username === undefined) return problem("warning", "No username, ignoring line.");
      if (encoder.encode(username).length > MAX_FIELD_BYTES) {
        return problem("warning", "Invalid line in password file, username too long.");
      }
      if (password === undefined) {
        return problem("warning", `No password hash for user ${username}, ignoring line.`);
      }
      if (encoder.encode(password).length > MAX_FIELD_BYTES) {
        return problem("warning", "Invalid line in password file, password too long.");
      }
      const hash = parseHash(password);
      if (typeof hash === "string") {
        return problem("error", `${HASH_MESSAGES[hash]} for user ${username}, removing entry.`);
      }
      const earlier = users.get(username);
      if (earlier !== undefined) {
        problem("warning", `User ${username} is also on line ${earlier.line}; using this line.`);
      }
      users.set(username, { ...hash, line });
    });
    return new PasswordFile(file, users, problems);
  }

  /** How many users can log in. */
  get size(): number {
    return this.#users.size;
  }

  /** Whether `username` has a usable line. */
  has(username: string): boolean {
    return this.#users.has(username);
  }

  /**
   * Whether `password` is `username`'s. A missing password never matches. The hash is always
   * computed (for unknown users and missing passwords too) and compared in constant time.
   */
  async verify(username: string, password: Uint8Array | undefined): Promise<Verdict> {
    const entry = this.#users.get(username);
    const params = entry ?? this.#dummy;
    const digest = await digestPassword(password ?? EMPTY, params);
    const same = sameBytes(digest, params.hash);
    if (entry === undefined) return "unknown user";
    return same && password !== undefined ? "ok" : "bad password";
  }
}

/** Whether `a` and `b` hold the same bytes, in a time that depends only on their lengths. */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i] ^ b[i];
  return difference === 0;
}
