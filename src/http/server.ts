/**
 * The HTTP listener (`protocol http` on a listener): the status page, Prometheus metrics, a
 * health check and a JSON API about the broker, served with `Deno.serve`.
 *
 * ```ts
 * const http = startHttpServer(broker, { hostname: "127.0.0.1", port: 0, open: true });
 * const stats = await (await fetch(`http://127.0.0.1:${http.port}/api/v1/stats`)).json();
 * await http.close();
 * ```
 *
 * `startHttpServer(broker, { hostname, port, open?, passwords? })` listens at once (port 0
 * picks a free port, returned as `port`) and throws when it cannot (the address is in use).
 * Unless `open` is true, every route but `/health` needs HTTP basic auth with a user of
 * `passwords` (the broker's password file); without either it throws. `close()` stops
 * listening and resolves once the requests in progress are answered.
 *
 * Routes (GET or HEAD; other methods get 405):
 *
 * | path                    | answer                                                        |
 * | ----------------------- | ------------------------------------------------------------- |
 * | `/`                     | the status page (`text/html; charset=utf-8`)                  |
 * | `/metrics`              | Prometheus text format 0.0.4                                  |
 * | `/health`               | 200 `{"status":"ok"}`; 503 with a reason (stopping, store)    |
 * | `/api/v1/stats`         | the stats snapshot as JSON                                    |
 * | `/api/v1/clients`       | sessions, connected or not (at most 10,000; `truncated`)      |
 * | `/api/v1/subscriptions` | subscriptions (at most 10,000; `truncated`)                   |
 *
 * @module
 */

import type { Broker } from "../broker/broker.ts";
import type { PasswordVerifier } from "../broker/options.ts";
import { CHALLENGE, checkBasicAuth } from "./auth.ts";
import { ROUTES } from "./routes.ts";

/** Where and how to serve. */
export interface HttpServerOptions {
  /** Address to listen on ("::" listens on IPv6 and IPv4). */
  hostname: string;
  /** Port; 0 picks a free one. */
  port: number;
  /** Serve without credentials (`http_open true`). */
  open?: boolean;
  /** The users and passwords basic auth checks (`password_file`). */
  passwords?: PasswordVerifier;
}

/** A running HTTP listener. */
export interface HttpServer {
  /** The port it listens on. */
  port: number;
  /** Stop listening; resolves once the requests in progress are answered. */
  close(): Promise<void>;
}

const ALLOWED_METHODS = "GET, HEAD";

/** `text` with control characters (a line feed in a user name) shown as `?` in the log. */
function printable(text: string): string {
  return text.replace(/\p{Cc}/gu, "?");
}

function textResponse(status: number, text: string, headers: HeadersInit = {}): Response {
  return new Response(text + "\n", {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}

/** Serve the HTTP routes of `broker` as `options` say; see the module documentation. */
export function startHttpServer(broker: Broker, options: HttpServerOptions): HttpServer {
  const passwords = options.passwords;
  const open = options.open === true;
  if (!open && passwords === undefined) {
    throw new Error("an HTTP listener needs a password file for basic auth, or open: true");
  }
  const answer = async (request: Request, path: string, from: string): Promise<Response> => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      return textResponse(405, "method not allowed", { allow: ALLOWED_METHODS });
    }
    const route = ROUTES.get(path);
    if (route?.auth !== false && !open) {
      const { verdict, username } = await checkBasicAuth(request, passwords!);
      if (verdict !== "ok") {
        if (verdict !== "no credentials") {
          broker.log.notice(
            `Denied HTTP request from ${from} for ${path}: not authorised ` +
              `(${verdict}, user '${printable(username ?? "")}').`,
          );
        }
        return textResponse(401, "unauthorised", { "www-authenticate": CHALLENGE });
      }
    }
    if (route === undefined) return textResponse(404, "not found");
    try {
      return route.handle(broker);
    } catch (error) {
      broker.log.error(`Error: HTTP ${path}: ${(error as Error).stack ?? error}`);
      return textResponse(500, "internal error");
    }
  };

  const handler = async (request: Request, info: Deno.ServeHandlerInfo): Promise<Response> => {
    const remote = info.remoteAddr as Deno.NetAddr;
    const from = `${remote.hostname}:${remote.port}`;
    const path = new URL(request.url).pathname;
    const response = await answer(request, path, from);
    const log = broker.log;
    if (log.enabled("debug")) {
      log.debug(`HTTP ${request.method} ${path} from ${from}: ${response.status}.`);
    }
    return request.method === "HEAD"
      ? new Response(null, { status: response.status, headers: response.headers })
      : response;
  };

  const server = Deno.serve({
    hostname: options.hostname,
    port: options.port,
    onListen() {}, // the caller logs what it opened
  }, handler);
  return {
    port: (server.addr as Deno.NetAddr).port,
    close: () => server.shutdown(),
  };
}
