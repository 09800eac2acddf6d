/**
 * One line of a password file, split the way Mosquitto 2.0 splits it: the username is the
 * first run of characters between colons, the password (or hash) the second; runs that are
 * empty are skipped (so `::alice:HASH` is alice's line) and anything after the second run is
 * ignored. Both are trimmed of C whitespace (space, \t, \n, \v, \f, \r).
 *
 * @module
 */

/** The two fields of a line; either is undefined when the line has no such run. */
export interface PasswordFields {
  /** The username, trimmed. */
  username: string | undefined;
  /** The password or hash field, trimmed. */
  password: string | undefined;
}

const BLANKS = /^[ \t\n\v\f\r]+|[ \t\n\v\f\r]+$/g;

/** `text` without leading and trailing C whitespace. */
export function trimBlanks(text: string): string {
  return text.replace(BLANKS, "");
}

/** Split `line` (without its newline) into username and password, as Mosquitto does. */
export function splitPasswordLine(line: string): PasswordFields {
  const runs = line.split(":").filter((run) => run !== "");
  return {
    username: runs.length > 0 ? trimBlanks(runs[0]) : undefined,
    password: runs.length > 1 ? trimBlanks(runs[1]) : undefined,
  };
}

/** Whether the broker skips `line` as a comment: its very first character is `#`. */
export function isCommentLine(line: string): boolean {
  return line.startsWith("#");
}

/** Whether `line` holds nothing but C whitespace. */
export function isBlankLine(line: string): boolean {
  return trimBlanks(line) === "";
}

/** The lines of a file's text, without their "\n" (a last line without one included). */
export function splitLines(text: string): string[] {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}
