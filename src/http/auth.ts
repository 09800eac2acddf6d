/**
 * HTTP basic authentication (RFC 7617) against the broker's password file: the same users and
 * passwords as MQTT. The password is handed to the verifier as bytes and never kept or logged.
 *
 * @module
 */

import type { PasswordVerifier } from "../broker/options.ts";

/** The realm browsers show when they ask for a user and password. */
export const REALM = "Midge";

/** The `WWW-Authenticate` header of a 401. */
export const CHALLENGE = `Basic realm="${REALM}"`;

/** Credentials from an `Authorization: Basic` header. */
export interface BasicCredentials {
  /** The user name (UTF-8). */
  username: string;
  /** The password's bytes. */
  password: Uint8Array;
}

/**
 * The credentials of an `Authorization` header value, or undefined when it is missing, not
 * `Basic`, not base64, has no colon or a user name that is not UTF-8.
 */
export function parseBasicAuth(header: string | null): BasicCredentials | undefined {
  if (header === null) return undefined;
  const match = /^basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header);
  if (match === null) return undefined;
  let decoded: string;
  try {
    decoded = atob(match[1]);
  } catch {
    return undefined;
  }
  const bytes = Uint8Array.from(decoded, (ch) => ch.charCodeAt(0));
  const colon = bytes.indexOf(0x3a); // user names cannot hold a colon; passwords can
  if (colon < 0) return undefined;
  let username: string;
  try {
    username = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, colon));
  } catch {
    return undefined;
  }
  return { username, password: bytes.slice(colon + 1) };
}

/** What a request's credentials are worth. */
export type AuthVerdict = "ok" | "no credentials" | "unknown user" | "bad password";

/** Check an `Authorization` header value (null when absent) against `passwords`. */
export async function checkBasicAuth(
  authorization: string | null,
  passwords: PasswordVerifier,
): Promise<{ verdict: AuthVerdict; username?: string }> {
  const credentials = parseBasicAuth(authorization);
  if (credentials === undefined) return { verdict: "no credentials" };
  const { username, password } = credentials;
  const verdict = await passwords.verify(username, password);
  password.fill(0);
  return { verdict, username };
}
