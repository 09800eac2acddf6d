/**
 * The password and ACL files a configuration names, read once each (several listeners may
 * name the same file), for the broker's options. A file that cannot be read or parsed fails
 * with the reason, naming the file (and, for ACLs, the line).
 *
 * @module
 */

import { AclFile } from "../auth/acl_file.ts";
import { PasswordFile } from "../auth/password_file.ts";
import type { PasswordVerifier, TopicAuthorizer } from "../broker/options.ts";
import { formatProblem } from "../config/errors.ts";
import type { Config, SecurityConfig } from "../config/options.ts";

/** The files of one security section, loaded. */
export interface SecurityFiles {
  /** `password_file`. */
  passwordFile?: PasswordVerifier;
  /** `acl_file`. */
  aclFile?: TopicAuthorizer;
}

/** The files of the broker-wide section and of each listener, in listener order. */
export interface LoadedSecurity {
  /**
   * Lines of the password files that were left out (the user cannot log in), to be logged:
   * Mosquitto starts all the same and logs them as errors (a line starts with `Error: ` or
   * `Warning: ` as Mosquitto's).
   */
  problems: { level: "error" | "warning"; line: string }[];
  /** `[security]`. */
  global: SecurityFiles;
  /** Each `[[listener]]`'s (the global ones again without per_listener_settings). */
  listeners: SecurityFiles[];
}

/** Read every password and ACL file `config` names. */
export async function loadSecurityFiles(config: Config): Promise<LoadedSecurity> {
  const passwords = new Map<string, Promise<PasswordFile>>();
  const acls = new Map<string, Promise<AclFile>>();
  const load = async (security: SecurityConfig): Promise<SecurityFiles> => {
    const files: SecurityFiles = {};
    if (security.password_file !== undefined) {
      const path = security.password_file;
      if (!passwords.has(path)) passwords.set(path, PasswordFile.load(path));
      files.passwordFile = await passwords.get(path)!;
    }
    if (security.acl_file !== undefined) {
      const path = security.acl_file;
      if (!acls.has(path)) acls.set(path, AclFile.load(path));
      files.aclFile = await acls.get(path)!;
    }
    return files;
  };
  const global = await load(config.security);
  const listeners = await Promise.all(config.listeners.map((l) => load(l.security)));
  const problems = [];
  for (const file of passwords.values()) {
    for (const problem of (await file).problems) {
      const line = formatProblem(problem);
      problems.push({
        level: problem.level,
        line: `${problem.level === "error" ? "Error" : "Warning"}: ${line}`,
      });
    }
  }
  return { global, listeners, problems };
}

/** `password_file PATH` and `acl_file PATH` for each file `config` names, once each. */
export function securityFilePaths(config: Config): string[] {
  const out = new Set<string>();
  for (const security of [config.security, ...config.listeners.map((l) => l.security)]) {
    if (security.password_file !== undefined) out.add(`password_file ${security.password_file}`);
    if (security.acl_file !== undefined) out.add(`acl_file ${security.acl_file}`);
  }
  return [...out];
}
