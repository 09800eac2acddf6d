/**
 * Which options each client tool knows, with the long spellings and the texts printed for a
 * missing value.
 *
 * @module
 */

import type { ToolName } from "./client_options_shape.ts";

/** The text printed for an option given without its value. */
export const MISSING: Readonly<Record<string, string>> = {
  "-A": "-A argument given but no address specified.",
  "-C": "-C argument given but no count specified.",
  "--cafile": "--cafile argument given but no file specified.",
  "--capath": "--capath argument given but no directory specified.",
  "--cert": "--cert argument given but no file specified.",
  "--ciphers": "--ciphers argument given but no ciphers specified.",
  "-e": "-e argument given but no response topic specified.",
  "-f": "-f argument given but no file specified.",
  "-F": "-F argument given but no format specified.",
  "-h": "-h argument given but no host specified.",
  "-i": "-i argument given but no id specified.",
  "-I": "-I argument given but no id prefix specified.",
  "-k": "-k argument given but no keepalive specified.",
  "--key": "--key argument given but no file specified.",
  "--keyform": "--keyform argument given but no keyform specified.",
  "-L": "-L argument given but no URL specified.",
  "-m": "-m argument given but no message specified.",
  "-M": "-M argument given but max_inflight not specified.",
  "-o": "-o argument given but no options file specified.",
  "-p": "-p argument given but no port specified.",
  "-P": "-P argument given but no password specified.",
  "--proxy": "--proxy argument given but no proxy url specified.",
  "--psk": "--psk argument given but no key specified.",
  "--psk-identity": "--psk-identity argument given but no identity specified.",
  "-q": "-q argument given but no QoS specified.",
  "--random-filter": "--random-filter argument given but no chance specified.",
  "--repeat": "--repeat argument given but no count specified.",
  "--retain-handling": "--retain-handling argument given but no value specified.",
  "--repeat-delay": "--repeat-delay argument given but no time specified.",
  "-t": "-t argument given but no topic specified.",
  "-T": "-T argument given but no topic filter specified.",
  "--tls-alpn": "--tls-alpn argument given but no protocol specified.",
  "--tls-engine": "--tls-engine argument given but no engine_id specified.",
  "--tls-engine-kpass-sha1": "--tls-engine-kpass-sha1 argument given but no kpass sha1 specified.",
  "--tls-version": "--tls-version argument given but no version specified.",
  "-u": "-u argument given but no username specified.",
  "--unix": "--unix argument given but no socket path specified.",
  "-U": "-U argument given but no unsubscribe topic specified.",
  "-V": "--protocol-version argument given but no version specified.",
  "-W": "-W argument given but no timeout specified.",
  "-x": "-x argument given but no session expiry interval specified.",
  "--will-payload": "--will-payload argument given but no will payload specified.",
  "--will-qos": "--will-qos argument given but no will QoS specified.",
  "--will-topic": "--will-topic argument given but no will topic specified.",
};

/** Long spellings of short options. */
export const ALIASES: Readonly<Record<string, string>> = {
  "--disable-clean-session": "-c",
  "--debug": "-d",
  "--property": "-D",
  "--file": "-f",
  "--host": "-h",
  "--id": "-i",
  "--id-prefix": "-I",
  "--keepalive": "-k",
  "--url": "-L",
  "--stdin-line": "-l",
  "--message": "-m",
  "--null-message": "-n",
  "--port": "-p",
  "--pw": "-P",
  "--qos": "-q",
  "--retain": "-r",
  "--stdin-file": "-s",
  "--topic": "-t",
  "--filter-out": "-T",
  "--username": "-u",
  "--unsubscribe": "-U",
  "--verbose": "-v",
  "--protocol-version": "-V",
};

const ALL = ["pub", "sub", "rr"] as const;
const PUB_RR = ["pub", "rr"] as const;
const SUB_RR = ["sub", "rr"] as const;

/** Options that only some tools know (the others report them as unknown). */
const ONLY: Readonly<Record<string, readonly ToolName[]>> = {
  "-C": ["sub"],
  "-e": ["rr"],
  "-E": ["sub"],
  "-f": PUB_RR,
  "-F": SUB_RR,
  "-l": ["pub"],
  "-m": PUB_RR,
  "-n": PUB_RR,
  "-N": SUB_RR,
  "--pretty": SUB_RR,
  "-r": ["pub"],
  "-R": SUB_RR,
  "--random-filter": ["sub"],
  "--remove-retained": ["sub"],
  "--repeat": ["pub"],
  "--repeat-delay": ["pub"],
  "--retained-only": ["sub"],
  "--retain-as-published": SUB_RR,
  "--no-local": ["sub"],
  "--retain-handling": ["sub"],
  "-s": PUB_RR,
  "-T": ["sub"],
  "-U": ["sub"],
  "-v": SUB_RR,
  "-W": SUB_RR,
};

/** Options that take no value. */
export const FLAGS = new Set([
  "-c",
  "-d",
  "-E",
  "--help",
  "--insecure",
  "-l",
  "-n",
  "-N",
  "--nodelay",
  "--pretty",
  "--quiet",
  "-r",
  "-R",
  "--remove-retained",
  "--retained-only",
  "--retain-as-published",
  "--no-local",
  "-s",
  "--tls-use-os-certs",
  "-v",
  "--version",
  "--will-retain",
]);

/** Whether `tool` knows option `name` (already de-aliased). */
export function known(tool: ToolName, name: string): boolean {
  if (name === "-D") return true;
  if (!FLAGS.has(name) && !Object.hasOwn(MISSING, name)) return false;
  return (ONLY[name] ?? ALL).includes(tool);
}
