/**
 * Mosquitto's `acl_file`: which topics a client may read or write.
 *
 * ```
 * topic read $SYS/#            # before any user line: anonymous clients
 * user roger
 * topic foo/bar                # readwrite when no access word is given
 * topic deny foo/bar/secret
 * pattern write sensor/%u/data # every client; %c = client id, %u = username
 * ```
 *
 * Rules, as Mosquitto 2.0 applies them: a client with a username uses that user's rules (none
 * if the file does not name it); a client without one uses the rules before the first `user`
 * line. Within a rule set denials are checked first, then grants; patterns are checked after
 * the client's own rules, denials first. A topic starting with `$` is only granted by a rule
 * starting with `$`. Subscribing is not checked (Mosquitto 2.0.11 grants every SUBSCRIBE): what
 * a subscriber receives is, by its read access. A client id or username containing `+` or `#`
 * is never matched by a pattern. (Which `$` topics no client may write
 * at all is the broker's rule, checked before the ACL.)
 *
 * @module
 */

import { ConfigError, type ConfigProblem, readConfigText } from "../config/errors.ts";

/** What a client asks to do with a topic. */
export type AclAction = "read" | "write";

const READ = 1;
const WRITE = 2;
const DENY = 0;

const ACCESS_WORDS: Readonly<Record<string, number>> = {
  read: READ,
  write: WRITE,
  readwrite: READ | WRITE,
  deny: DENY,
};

const ACTION_BITS: Readonly<Record<AclAction, number>> = {
  read: READ,
  write: WRITE,
};

/** One `topic` or `pattern` line. */
interface AclRule {
  /** Access bits granted; 0 for `deny`. */
  access: number;
  /** The topic filter as written (patterns with %c / %u). */
  topic: string;
  /** Line number, for messages. */
  line: number;
}

/** Who is asking. */
export interface AclClient {
  /** Client identifier. */
  clientId: string;
  /** Username, if the client gave one. */
  username?: string;
}

/** A loaded ACL file. */
export class AclFile {
  /** Where it was read from. */
  readonly file: string;
  #anonymous: AclRule[] = [];
  #users = new Map<string, AclRule[]>();
  #patterns: AclRule[] = [];

  private constructor(file: string) {
    this.file = file;
  }

  /** Read and parse the file at `path`; throws ConfigError naming each bad line. */
  static async load(path: string): Promise<AclFile> {
    return AclFile.parse(await readConfigText(path), path);
  }

  /** Parse the text of an ACL file read from `file`. */
  static parse(text: string, file: string): AclFile {
    const acl = new AclFile(file);
    const problems: ConfigProblem[] = [];
    let current = acl.#anonymous;
    text.split("\n").forEach((raw, i): void => {
      const line = i + 1;
      const content = raw.replace(/\r$/, "").trim();
      if (content === "" || content.startsWith("#")) return;
      const [keyword] = content.split(/\s+/, 1);
      const rest = content.slice(keyword.length).trim();
      const problem = (message: string): void => {
        problems.push({ origin: { file, line }, key: "", message });
      };
      if (keyword === "user") {
        if (rest === "") return problem("user needs a name");
        current = acl.#users.get(rest) ?? [];
        acl.#users.set(rest, current);
        return;
      }
      if (keyword !== "topic" && keyword !== "pattern") {
        return problem(`unknown keyword "${keyword}": use topic, pattern or user`);
      }
      const [first] = rest.split(/\s+/, 1);
      const hasAccess = Object.hasOwn(ACCESS_WORDS, first);
      const topic = hasAccess ? rest.slice(first.length).trim() : rest;
      if (topic === "") return problem(`${keyword} needs a topic`);
      const rule = {
        access: hasAccess ? ACCESS_WORDS[first] : ACCESS_WORDS.readwrite,
        topic,
        line,
      };
      (keyword === "pattern" ? acl.#patterns : current).push(rule);
    });
    if (problems.length > 0) throw new ConfigError(problems);
    return acl;
  }

  /** Whether `client` may do `action` on topic name `topic`. */
  allows(client: AclClient, topic: string, action: AclAction): boolean {
    const want = ACTION_BITS[action];
    const own = client.username === undefined ? this.#anonymous : this.#users.get(client.username);
    if (own !== undefined && checkRules(own, topic, want, (t) => t) === true) return true;
    if (this.#patterns.length === 0) return false;
    if (/[+#]/.test(client.clientId) || /[+#]/.test(client.username ?? "")) return false;
    const substitute = (pattern: string) => substitutePattern(pattern, client);
    return checkRules(this.#patterns, topic, want, substitute) === true;
  }
}

/**
 * Denials first, then grants: false for a denial, true for a grant, undefined when no rule
 * matches. `substitute` turns a rule's topic into the filter to match (undefined: skip it).
 */
function checkRules(
  rules: AclRule[],
  topic: string,
  want: number,
  substitute: (topic: string) => string | undefined,
): boolean | undefined {
  for (const rule of rules) {
    if (rule.access !== DENY) continue;
    const filter = substitute(rule.topic);
    if (filter !== undefined && filterMatches(filter, topic)) return false;
  }
  for (const rule of rules) {
    if ((rule.access & want) === 0) continue;
    const filter = substitute(rule.topic);
    if (filter === undefined) continue;
    if (topic.startsWith("$") && !filter.startsWith("$")) continue;
    if (filterMatches(filter, topic)) return true;
  }
  return undefined;
}

/** `%c` and `%u` as whole levels; undefined when `%u` is needed and there is no username. */
function substitutePattern(pattern: string, client: AclClient): string | undefined {
  const levels = pattern.split("/");
  for (let i = 0; i < levels.length; i++) {
    if (levels[i] === "%c") levels[i] = client.clientId;
    else if (levels[i] === "%u") {
      if (client.username === undefined) return undefined;
      levels[i] = client.username;
    }
  }
  return levels.join("/");
}

/** Whether topic filter `filter` matches topic name `topic` (`+`, `#`). */
export function filterMatches(filter: string, topic: string): boolean {
  const f = filter.split("/");
  const t = topic.split("/");
  for (let i = 0; i < f.length; i++) {
    if (f[i] === "#") return true;
    if (i >= t.length) return false;
    if (f[i] !== "+" && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
