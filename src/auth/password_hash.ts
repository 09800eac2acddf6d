/**
 * The password hashes of Mosquitto's `password_file`, as its broker reads them and
 * `mosquitto_passwd` writes them:
 *
 * - `$7$ITERATIONS$SALT$HASH`: PBKDF2-HMAC-SHA512 (`-H sha512-pbkdf2`, the default; 101
 *   iterations);
 * - `$6$SALT$HASH`: one SHA-512 of the password followed by the salt (`-H sha512`, for
 *   Mosquitto 1.6 and older).
 *
 * SALT is 12 bytes and HASH 64 bytes, both in standard base64 with padding; the broker refuses
 * any other length.
 *
 * @module
 */

/** The two hash types: `-H sha512-pbkdf2` (`$7$`) and `-H sha512` (`$6$`). */
export type HashType = "sha512-pbkdf2" | "sha512";

/** PBKDF2 iterations that `mosquitto_passwd` 2.0 writes unless told otherwise (`-I`). */
export const DEFAULT_ITERATIONS = 101;

/** Bytes of salt the broker accepts, and that `mosquitto_passwd` writes. */
export const SALT_LENGTH = 12;

/** Bytes of a SHA-512 or PBKDF2-HMAC-SHA512 hash. */
export const HASH_LENGTH = 64;

/** The largest iteration count (C's INT_MAX, as the broker parses it). */
const MAX_ITERATIONS = 2 ** 31 - 1;

/** A decoded hash field: how to hash a candidate password, and what it must give. */
export interface PasswordHash {
  /** Hash type. */
  type: HashType;
  /** PBKDF2 iterations (1 for `sha512`, which has none). */
  iterations: number;
  /** The salt, SALT_LENGTH bytes. */
  salt: Uint8Array;
  /** The expected hash, HASH_LENGTH bytes. */
  hash: Uint8Array;
}

/** Why a hash field cannot be used, in the words of the broker's log line. */
export type HashProblem =
  | "invalid password hash"
  | "invalid password hash type"
  | "invalid hash iterations"
  | "unable to decode password salt"
  | "unable to decode password";

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Standard base64 with padding, as the hash fields use. */
export function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** Decode standard base64 with padding; undefined for anything else (as the broker does). */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (!BASE64.test(text)) return undefined;
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** C's `atoi` for the iteration count: leading blanks, a sign, digits; 0 when there are none. */
function parseIterations(text: string): number {
  const match = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(text);
  if (match === null) return 0;
  const n = Number(match[1]);
  return n > MAX_ITERATIONS ? 0 : n;
}

/**
 * Decode the hash field of a password file line (after the first `:`, trimmed), by the rules
 * Mosquitto 2.0's broker applies: `$`-separated tokens, empty tokens skipped, anything after
 * the hash ignored.
 */
export function parseHash(field: string): PasswordHash | HashProblem {
  const tokens = field.split("$").filter((t) => t !== "");
  if (tokens.length === 0) return "invalid password hash";
  const type: HashType | undefined = tokens[0] === "7"
    ? "sha512-pbkdf2"
    : tokens[0] === "6"
    ? "sha512"
    : undefined;
  if (type === undefined) return "invalid password hash type";
  let next = 1;
  let iterations = 1;
  if (type === "sha512-pbkdf2") {
    if (tokens.length <= next) return "invalid password hash";
    iterations = parseIterations(tokens[next++]);
    if (iterations < 1) return "invalid hash iterations";
  }
  if (tokens.length <= next) return "invalid password hash";
  const salt = decodeBase64(tokens[next++]);
  if (salt === undefined || salt.length !== SALT_LENGTH) return "unable to decode password salt";
  if (tokens.length <= next) return "invalid password hash";
  const hash = decodeBase64(tokens[next]);
  if (hash === undefined || hash.length !== HASH_LENGTH) return "unable to decode password";
  return { type, iterations, salt, hash };
}

/** The hash field for `hash`: `$7$101$SALT$HASH` or `$6$SALT$HASH`. */
export function formatHash(hash: PasswordHash): string {
  const salt = encodeBase64(hash.salt);
  const digest = encodeBase64(hash.hash);
  return hash.type === "sha512-pbkdf2"
    ? `$7$${hash.iterations}$${salt}$${digest}`
    : `$6$${salt}$${digest}`;
}

/** `bytes` backed by a plain ArrayBuffer, as Web Crypto takes them (a copy only if not). */
function own(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer
    ? bytes as Uint8Array<ArrayBuffer>
    : new Uint8Array(bytes);
}

/** Hash `password` with the type, iterations and salt of `params` (64 bytes). */
export async function digestPassword(
  password: Uint8Array,
  params: Pick<PasswordHash, "type" | "iterations" | "salt">,
): Promise<Uint8Array> {
  if (params.type === "sha512") {
    const input = new Uint8Array(password.length + params.salt.length);
    input.set(password);
    input.set(params.salt, password.length);
    return new Uint8Array(await crypto.subtle.digest("SHA-512", input));
  }
  const key = await crypto.subtle.importKey("raw", own(password), "PBKDF2", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-512", salt: own(params.salt), iterations: params.iterations },
    key,
    HASH_LENGTH * 8,
  );
  return new Uint8Array(bits);
}

/** Options of `hashPassword`. */
export interface HashOptions {
  /** Hash type; default `sha512-pbkdf2`. */
  type?: HashType;
  /** PBKDF2 iterations; default DEFAULT_ITERATIONS. */
  iterations?: number;
}

/** Hash `password` with a fresh random salt, as `mosquitto_passwd` does. */
export async function hashPassword(
  password: Uint8Array,
  options: HashOptions = {},
): Promise<PasswordHash> {
  const type = options.type ?? "sha512-pbkdf2";
  const iterations = type === "sha512" ? 1 : options.iterations ?? DEFAULT_ITERATIONS;
  const salt = crypto.getRandomValues(new Uint8Array(SALT_LENGTH));
  return {
    type,
    iterations,
    salt,
    hash: await digestPassword(password, { type, iterations, salt }),
  };
}
