/**
 * The HTTP listener (`protocol http` on a listener): the status page, Prometheus metrics, a
 * health check and a JSON API about the broker, served by our own HTTP/1.1 code
 * (transport/http1.ts, connection.ts) over the same accept loop as MQTT: `Deno.serve` ends the
 * process when it runs out of descriptors and has no hook for a connection cap or a header
 * timeout.
 *
 * ```ts
 * const http = startHttpServer(broker, { hostname: "127.0.0.1", port: 0, open: true });
 * const stats = await (await fetch(`http://127.0.0.1:${http.port}/api/v1/stats`)).json();
 * await http.close();
 * ```
 *
 * `startHttpServer(broker, { hostname, port, open?, passwords?, users?, maxConnections?,
 * timeoutMs? })` listens at once (port 0 picks a free port, returned as `port`) and throws
 * when it cannot (the address is in use). Unless `open` is true, every route but `/health`
 * needs HTTP basic auth with a user of `passwords` (the broker's password file), one of
 * `users` when given (others get 403); without `passwords` or `open` it throws.
 *
 * Each connection counts against `maxConnections` and against the broker's `listeners.gate`
 * (the descriptor limit of the process); past either, new sockets are closed at once and the
 * pause is logged once. A client has `timeoutMs` to send each request head and to take each
 * answer, else its connection is closed. Accept errors never end the listener. `close()` stops
 * listening, closes idle connections and resolves once the answers in progress are written.
 *
 * Routes (GET or HEAD; other methods get 405; a request with a body is answered, then its
 * connection closed):
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
import { LISTENER_OPTIONS } from "../config/options_listener.ts";
import { ConnectionGate } from "../transport/connection_gate.ts";
import { unmapIpv4 } from "../transport/ip_address.ts";
import { listenTcp } from "../transport/tcp.ts";
import { CHALLENGE, checkBasicAuth } from "./auth.ts";
import { type Answer, HttpConnection } from "./connection.ts";
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
  /** `http_users`: the users of `passwords` let in; the others get 403. Unset: all of them. */
  users?: ReadonlySet<string>;
  /** `http_max_connections`: connections open at once. */
  maxConnections?: number;
  /** `http_timeout` in milliseconds: to send a request head, and to take an answer. */
  timeoutMs?: number;
}

/** A running HTTP listener. */
export interface HttpServer {
  /** The port it listens on. */
  port: number;
  /** Stop listening; resolves once the answers in progress are written. */
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

/** What answers each request of `broker`'s HTTP listener, as `options` say. */
function answerer(broker: Broker, options: HttpServerOptions): Answer {
  const { passwords, users } = options;
  const open = options.open === true;
  if (!open && passwords === undefined) {
    throw new Error("an HTTP listener needs a password file for basic auth, or open: true");
  }
  const denied = (from: string, path: string, why: string) =>
    broker.log.notice(`Denied HTTP request from ${from} for ${path}: ${why}.`);
  const respond = async (
    method: string,
    path: string,
    authorization: string | null,
    from: string,
  ) => {
    if (method !== "GET" && method !== "HEAD") {
      return textResponse(405, "method not allowed", { allow: ALLOWED_METHODS });
    }
    const route = ROUTES.get(path);
    if (route?.auth !== false && !open) {
      const { verdict, username = "" } = await checkBasicAuth(authorization, passwords!);
      if (verdict !== "ok") {
        if (verdict !== "no credentials") {
          denied(from, path, `not authorised (${verdict}, user '${printable(username)}')`);
        }
        return textResponse(401, "unauthorised", { "www-authenticate": CHALLENGE });
      }
      if (users !== undefined && !users.has(username)) {
        denied(from, path, `user '${printable(username)}' is not in http_users`);
        return textResponse(403, "forbidden");
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
  return async (head, from) => {
    let path: string;
    try {
      path = new URL(head.target, "http://midge").pathname;
    } catch {
      return textResponse(400, "bad request target");
    }
    const response = await respond(head.method, path, head.headers.get("authorization"), from);
    const log = broker.log;
    if (log.enabled("debug")) {
      log.debug(`HTTP ${head.method} ${path} from ${from}: ${response.status}.`);
    }
    return response;
  };
}

/** Serve the HTTP routes of `broker` as `options` say; see the module documentation. */
export function startHttpServer(broker: Broker, options: HttpServerOptions): HttpServer {
  const answer = answerer(broker, options);
  const max = options.maxConnections ?? LISTENER_OPTIONS.http_max_connections.default;
  const timeoutMs = options.timeoutMs ?? LISTENER_OPTIONS.http_timeout.default * 1000;
  const listener = listenTcp(options.hostname, options.port);
  const gate = broker.listeners.gate;
  const cap = new ConnectionGate({
    capacity: max,
    name: `http_max_connections ${max}`,
    counted: `HTTP connections on port ${listener.port}`,
  }, { paused: (line) => broker.log.warning(line), resumed: (line) => broker.log.notice(line) });
  const connections = new Set<HttpConnection>();
  const served = new Set<Promise<void>>();
  const accepting = (async () => {
    for await (const socket of listener.accept((error) => gate.acceptFailed(error))) {
      if (!cap.admit()) {
        socket.close();
        continue;
      }
      if (!gate.admit()) {
        cap.release();
        socket.close();
        continue;
      }
      const remote = socket.remoteAddr as Deno.NetAddr;
      const connection = new HttpConnection(socket, {
        from: `${unmapIpv4(remote.hostname)}:${remote.port}`,
        timeoutMs,
      });
      connections.add(connection);
      const done: Promise<void> = connection.serve(answer).finally(() => {
        connections.delete(connection);
        served.delete(done);
        cap.release();
        gate.release();
      });
      served.add(done);
    }
  })();
  return {
    port: listener.port,
    async close() {
      listener.close();
      await accepting;
      for (const connection of connections) connection.stop();
      await Promise.all(served);
    },
  };
}
