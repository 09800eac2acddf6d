/**
 * The table of `passwd_test.ts`: command lines that `midge passwd` and `mosquitto_passwd`
 * 2.0.11 must answer alike, and the helpers that set up and compare their directories.
 *
 * @module
 */

import { MOSQUITTO_FILE } from "./vectors.ts";

/** Files a case starts with, by name; a value `{ link }` is a symbolic link, `{ dir }` a directory. */
export type Setup = Record<string, string | { link: string } | { dir: true }>;

/** Create the files of `setup` in `dir`. */
export async function prepare(dir: string, setup: Setup): Promise<void> {
  for (const [name, content] of Object.entries(setup)) {
    if (typeof content === "string") await Deno.writeTextFile(`${dir}/${name}`, content);
    else if ("link" in content) await Deno.symlink(content.link, `${dir}/${name}`);
    else await Deno.mkdir(`${dir}/${name}`);
  }
}

/** Every regular file of `dir` (links and directories left out) and its text. */
export async function filesOf(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile) out[entry.name] = await Deno.readTextFile(`${dir}/${entry.name}`);
  }
  return out;
}

/** A file's text with salts and hashes replaced by their lengths: its structure. */
export function structure(text: string): string {
  return text
    .replace(
      /\$7\$(\d+)\$([^$\n]*)\$([^$\n]*)/g,
      (_, n, s, h) => `$7$${n}$<${s.length}>$<${h.length}>`,
    )
    .replace(/\$6\$([^$\n]*)\$([^$\n]*)/g, (_, s, h) => `$6$<${s.length}>$<${h.length}>`);
}

/** One command line of the table. */
export interface ParityCase {
  /** What it shows. */
  name: string;
  /** Arguments (file names relative to the case's directory). */
  args: string[];
  /** Files to start with. */
  setup?: Setup;
  /** Standard input. */
  input?: string;
  /** Users and passwords that must log in with the resulting `pw` afterwards. */
  logins?: [string, string][];
  /** The usage text: only its Usage lines are compared (the prose is Midge's own). */
  usage?: boolean;
}

/** A file of four users (see vectors.ts): alice/secret, bob, carol, empty. */
export const EXISTING: Setup = { pw: MOSQUITTO_FILE };

const LONG = "x".repeat(70_000);

/** The command lines, with the files and input each starts with. */
export const PARITY: ParityCase[] = [
  { name: "no arguments", args: [], usage: true },
  { name: "one argument", args: ["pw"], usage: true },
  { name: "an unknown option", args: ["-X", "pw", "u"], usage: true },
  { name: "-b with too few arguments", args: ["-b", "pw", "u"], usage: true },
  { name: "-b with too many", args: ["-b", "pw", "u", "p", "extra"], setup: EXISTING, usage: true },
  { name: "-H alone", args: ["-H"] },
  { name: "-H md5", args: ["-H", "md5", "-b", "pw", "u", "p"] },
  { name: "-I alone", args: ["-I"] },
  { name: "-I 0", args: ["-I", "0", "-b", "pw", "u", "p"] },
  { name: "-I -b takes -b as its number", args: ["-I", "-b", "pw", "u", "p"] },
  { name: "-c with -D", args: ["-c", "-D", "pw", "u"] },
  { name: "-c with -U", args: ["-U", "-c", "pw"] },
  { name: "-D with -U", args: ["-D", "-U", "pw"] },
  { name: "-b with -D", args: ["-D", "-b", "pw", "u"] },
  { name: "-c without a username", args: ["-c", "pw"] },
  { name: "-c -b without a password", args: ["-c", "-b", "pw", "u"] },
  { name: "-D without a username", args: ["-D", "pw"] },
  { name: "-U with a username", args: ["-U", "pw", "u"] },
  { name: "-U alone", args: ["-U"] },
  { name: "a username with ':'", args: ["-b", "pw", "a:b", "p"], setup: EXISTING },
  { name: "a username with a tab", args: ["-c", "-b", "pw", "a\tb", "p"] },
  { name: "a username of 70000 bytes", args: ["-c", "-b", "pw", LONG, "p"] },
  { name: "a password of 70000 bytes", args: ["-c", "-b", "pw", "u", LONG] },
  { name: "no such file", args: ["-b", "pw", "u", "p"] },
  { name: "no such file, -D", args: ["-D", "pw", "u"] },
  { name: "no such file, -U", args: ["-U", "pw"] },
  { name: "no such file, asked before prompting", args: ["pw", "u"], input: "p\np\n" },
  { name: "the empty file name", args: ["-b", "", "u", "p"] },
  { name: "-c, the empty file name", args: ["-c", "-b", "", "u", "p"] },
  { name: "-c in a missing directory", args: ["-c", "-b", "none/pw", "u", "p"] },
  { name: "-c over a directory", args: ["-c", "-b", "d", "u", "p"], setup: { d: { dir: true } } },
  { name: "a directory", args: ["-b", "d", "u", "p"], setup: { d: { dir: true } } },
  { name: "the current directory", args: ["-D", ".", "u"] },
  { name: "under a file", args: ["-b", "pw/x", "u", "p"], setup: EXISTING },
  {
    name: "a loop of links",
    args: ["-b", "l1", "u", "p"],
    setup: { l1: { link: "l2" }, l2: { link: "l1" } },
  },
  {
    name: "-c -b creates",
    args: ["-c", "-b", "pw", "alice", "secret"],
    logins: [["alice", "secret"]],
  },
  {
    name: "-c -b replaces a file",
    args: ["-b", "-c", "pw", "zed", "z"],
    setup: EXISTING,
    logins: [["zed", "z"]],
  },
  {
    name: "-c -H sha512",
    args: ["-H", "sha512", "-c", "-b", "pw", "bob", "pw"],
    logins: [["bob", "pw"]],
  },
  {
    name: "the last -H counts",
    args: ["-H", "sha512", "-H", "sha512-pbkdf2", "-c", "-b", "pw", "bob", "pw"],
    logins: [["bob", "pw"]],
  },
  { name: "-I 1000", args: ["-I", "1000", "-c", "-b", "pw", "u", "p"], logins: [["u", "p"]] },
  { name: "-I 7x as atoi reads it", args: ["-I", "7x", "-c", "-b", "pw", "u", "p"] },
  { name: "-c with an extra argument asks", args: ["-c", "pw", "u", "extra"], input: "p\np\n" },
  {
    name: "-b adds a user",
    args: ["-b", "pw", "dave", "pw"],
    setup: EXISTING,
    logins: [["alice", "secret"], ["bob", "p@ss wörd"], ["dave", "pw"]],
  },
  {
    name: "-b changes a password",
    args: ["-b", "pw", "alice", "changed"],
    setup: EXISTING,
    logins: [["alice", "changed"], ["carol", "hunter2"]],
  },
  {
    name: "-b an empty password",
    args: ["-b", "pw", "bob", ""],
    setup: EXISTING,
    logins: [["bob", ""]],
  },
  {
    name: "-b through a link",
    args: ["-b", "link", "dave", "pw"],
    setup: { ...EXISTING, link: { link: "pw" } },
    logins: [["dave", "pw"]],
  },
  {
    name: "-c through a dangling link",
    args: ["-c", "-b", "link", "dave", "pw"],
    setup: { link: { link: "pw" } },
    logins: [["dave", "pw"]],
  },
  {
    name: "a user whose line has blanks",
    args: ["-b", "pw", "alice", "new"],
    setup: { pw: " alice : x:y \r\nbob:z\n" },
    logins: [["alice", "new"]],
  },
  { name: "-D deletes", args: ["-D", "pw", "bob"], setup: EXISTING, logins: [["alice", "secret"]] },
  { name: "-D an unknown user", args: ["-D", "pw", "zed"], setup: EXISTING },
  { name: "-D with an extra argument", args: ["-D", "pw", "bob", "extra"], setup: EXISTING },
  { name: "-D in an empty file", args: ["-D", "pw", "u"], setup: { pw: "" } },
  {
    name: "-U hashes plain-text passwords",
    args: ["-U", "pw"],
    setup: { pw: "alice:pa ss\nbob:p:q\n" },
    logins: [["alice", "pa ss"], ["bob", "p"]],
  },
  {
    name: "-U -H sha512",
    args: ["-H", "sha512", "-U", "pw"],
    setup: { pw: "alice:secret\n" },
    logins: [["alice", "secret"]],
  },
  { name: "-U ignores -I", args: ["-I", "5", "-U", "pw"], setup: { pw: "a:b\n" } },
  { name: "-U -b", args: ["-U", "-b", "pw"], setup: { pw: "a:b\n" }, logins: [["a", "b"]] },
  { name: "-U an empty file fails silently", args: ["-U", "pw"], setup: { pw: "" } },
  { name: "-U a corrupt line", args: ["-U", "pw"], setup: { pw: "a:b\nc\n" } },
  {
    name: "a corrupt line after the user",
    args: ["-b", "pw", "a", "new"],
    setup: { pw: "a:b\nc\n" },
  },
  {
    name: "-D a user before a corrupt line",
    args: ["-D", "pw", "a"],
    setup: { pw: "a:b\nc:\n" },
  },
  {
    name: "-D a user after a corrupt line",
    args: ["-D", "pw", "d"],
    setup: { pw: "a:b\nc:\nd:e\n" },
  },
  {
    name: "asked twice, -c",
    args: ["-c", "pw", "carol"],
    input: "s3 cret\ns3 cret\n",
    logins: [["carol", "s3 cret"]],
  },
  {
    name: "asked twice, an existing file",
    args: ["pw", "alice"],
    input: "new\nnew\n",
    setup: EXISTING,
    logins: [["alice", "new"], ["bob", "p@ss wörd"]],
  },
  {
    name: "trailing \\r dropped",
    args: ["-c", "pw", "u"],
    input: "pw\r\r\npw\r\n",
    logins: [["u", "pw"]],
  },
  {
    name: "no newline after the second",
    args: ["-c", "pw", "u"],
    input: "pw\npw",
    logins: [["u", "pw"]],
  },
  { name: "passwords that differ", args: ["-c", "pw", "u"], input: "one\ntwo\n" },
  {
    name: "passwords that differ, existing file",
    args: ["pw", "u"],
    input: "a\nb\n",
    setup: EXISTING,
  },
  { name: "an empty first password", args: ["-c", "pw", "u"], input: "\n\n" },
  { name: "one line only", args: ["pw", "u"], input: "one\n", setup: EXISTING },
  { name: "no input", args: ["-c", "pw", "u"], input: "" },
];
