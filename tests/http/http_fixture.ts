/**
 * What the in-process HTTP listener tests share: a password file written by `midge passwd -b`,
 * basic auth headers, and a broker with an HTTP listener for one test.
 *
 * @module
 */

import assert from "node:assert/strict";
import { PasswordFile } from "../../src/auth/password_file.ts";
import { runPasswd } from "../../src/tools/passwd.ts";
import { type HttpServer, type HttpServerOptions, startHttpServer } from "../../src/http/server.ts";
import { capture } from "../fixtures/cli_io.ts";
import { startBroker, type TestBroker } from "../integration/harness.ts";

/** A password file with `users` (name to password), written by `midge passwd -b`. */
export async function passwordFile(users: Record<string, string>): Promise<PasswordFile> {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/passwd`;
    for (const [i, [user, password]] of Object.entries(users).entries()) {
      const { io, err } = capture();
      const create = i === 0 ? ["-c"] : [];
      assert.equal(await runPasswd([...create, "-b", path, user, password], io), 0, err.join());
    }
    return await PasswordFile.load(path);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The Authorization header of HTTP basic auth (UTF-8 credentials). */
export function basic(user: string, password: string): HeadersInit {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  return { authorization: `Basic ${btoa(String.fromCharCode(...bytes))}` };
}

/** A broker and an HTTP listener on 127.0.0.1 for one test, both stopped at its end. */
export async function withHttp(
  options: Omit<HttpServerOptions, "hostname" | "port">,
  body: (tb: TestBroker, http: HttpServer) => Promise<void>,
): Promise<void> {
  const tb = startBroker();
  const http = startHttpServer(tb.broker, { hostname: "127.0.0.1", port: 0, ...options });
  try {
    await body(tb, http);
  } finally {
    await http.close();
    await tb.stop();
  }
}
