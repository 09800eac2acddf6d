/**
 * The edits `mosquitto_passwd` makes to a password file, as pure functions of its text: set a
 * user's password, delete a user, hash every plain-text password (`-U`).
 *
 * The text is a "binary string" (one character per byte, see `bytesToBinary`), so that
 * usernames compare byte for byte as in C and bytes that are not UTF-8 survive an edit.
 * Lines other than the edited ones are kept as they are (line endings included). Comment
 * lines (first character `#`, which the broker skips) and blank lines are kept too;
 * `mosquitto_passwd` 2.0.11 calls them corrupt. Any other line needs a username and a
 * password: otherwise the file is corrupt at that line and is left alone.
 *
 * @module
 */

import { formatHash, type HashOptions, hashPassword } from "./password_hash.ts";
import { isBlankLine, isCommentLine, splitLines, splitPasswordLine } from "./password_line.ts";

/** One line of the file, and its user when it is a user's line. */
export interface FileLine {
  /** The line as it is, without its "\n". */
  raw: string;
  /** The username (trimmed), for a user's line. */
  username?: string;
  /** The password or hash field (trimmed), for a user's line. */
  password?: string;
}

/** The lines of a file up to its first corrupt line. */
export interface Scan {
  /** The lines before the first corrupt one (all, when there is none). */
  lines: FileLine[];
  /** The 1-based number of the first corrupt line, if any. */
  corruptLine?: number;
}

/** What an edit came to. */
export type EditOutcome =
  /** The new text of the file. */
  | { kind: "ok"; text: string }
  /** The file is corrupt at `line`; `found`: the user was on a line before it. */
  | { kind: "corrupt"; line: number; found: boolean }
  /** `deleteUser`: the user is not in the file. */
  | { kind: "not found" }
  /** `hashPlainPasswords`: the file has no user's line. */
  | { kind: "no users" };

/** The bytes of `bytes` as a string of one character (0-255) per byte. */
export function bytesToBinary(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return text;
}

/** The bytes of a binary string. */
export function binaryToBytes(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/** `text` encoded as UTF-8, as a binary string. */
export function utf8ToBinary(text: string): string {
  return bytesToBinary(new TextEncoder().encode(text));
}

/** Split `text` into lines, stopping at the first corrupt one. */
export function scanPasswordFile(text: string): Scan {
  const lines: FileLine[] = [];
  const raws = splitLines(text);
  for (let i = 0; i < raws.length; i++) {
    const raw = raws[i];
    if (isCommentLine(raw) || isBlankLine(raw)) {
      lines.push({ raw });
      continue;
    }
    const { username, password } = splitPasswordLine(raw);
    if (!username || !password) return { lines, corruptLine: i + 1 };
    lines.push({ raw, username, password });
  }
  return { lines };
}

/** The line `username:HASH` for `password`, hashed with a fresh salt. */
export async function userLine(
  username: string,
  password: Uint8Array,
  options: HashOptions = {},
): Promise<string> {
  return `${username}:${formatHash(await hashPassword(password, options))}`;
}

function joinLines(lines: readonly string[]): string {
  return lines.length === 0 ? "" : lines.join("\n") + "\n";
}

function corrupt(scan: Scan, username?: string): EditOutcome {
  const found = scan.lines.some((l) => l.username === username);
  return { kind: "corrupt", line: scan.corruptLine!, found };
}

/** A user and the password to set. */
export interface NewPassword {
  /** The username, as a binary string. */
  username: string;
  /** The password's bytes. */
  password: Uint8Array;
}

/** Set a user's password: each of its lines gets a new hash, or a line is added at the end. */
export async function setPassword(
  text: string,
  user: NewPassword,
  options: HashOptions = {},
): Promise<EditOutcome> {
  const { username, password } = user;
  const scan = scanPasswordFile(text);
  if (scan.corruptLine !== undefined) return corrupt(scan, username);
  const out: string[] = [];
  let found = false;
  for (const line of scan.lines) {
    if (line.username === username) {
      found = true;
      out.push(await userLine(username, password, options));
    } else {
      out.push(line.raw);
    }
  }
  if (!found) out.push(await userLine(username, password, options));
  return { kind: "ok", text: joinLines(out) };
}

/** Remove every line of `username`. */
export function deleteUser(text: string, username: string): EditOutcome {
  const scan = scanPasswordFile(text);
  if (scan.corruptLine !== undefined) return corrupt(scan, username);
  const kept = scan.lines.filter((l) => l.username !== username);
  if (kept.length === scan.lines.length) return { kind: "not found" };
  return { kind: "ok", text: joinLines(kept.map((l) => l.raw)) };
}

/**
 * Replace each user's password field by its hash (`-U`). Every field is hashed, hashes too: the
 * text cannot tell a plain-text password from a hash.
 */
export async function hashPlainPasswords(
  text: string,
  options: HashOptions = {},
): Promise<EditOutcome> {
  const scan = scanPasswordFile(text);
  if (scan.corruptLine !== undefined) return corrupt(scan);
  if (!scan.lines.some((l) => l.username !== undefined)) return { kind: "no users" };
  const out: string[] = [];
  for (const line of scan.lines) {
    out.push(
      line.username === undefined
        ? line.raw
        : await userLine(line.username, binaryToBytes(line.password!), options),
    );
  }
  return { kind: "ok", text: joinLines(out) };
}
