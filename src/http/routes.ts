/**
 * The routes of the HTTP listener, each a function of the broker to a response: the status
 * page, `/metrics`, `/health` and the JSON API. Authentication is the server's business.
 *
 * @module
 */

import type { Broker } from "../broker/broker.ts";
import { takeStats } from "../broker/stats.ts";
import { bridgesJson, clientsJson, statsJson, subscriptionsJson } from "./api.ts";
import { readProcessFigures } from "./process_figures.ts";
import { PROMETHEUS_CONTENT_TYPE, renderMetrics } from "./prometheus.ts";
import { statusPage, statusPageSecurityPolicy } from "./status_page.ts";

/** A route: what it answers, and whether it needs credentials. */
export interface Route {
  /** The response for `broker` now. */
  handle(broker: Broker): Response;
  /** Whether basic auth is required (unless the listener is open). */
  auth: boolean;
}

const NO_STORE = "no-store";

/** A JSON response. */
export function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", "cache-control": NO_STORE },
  });
}

/**
 * `/health`: 200 `{"status":"ok"}`, or 503 with a reason while the broker stops or its store
 * cannot be written. Open to load balancers without credentials: it tells nothing else.
 */
export function health(broker: Broker): Response {
  if (broker.stopping) {
    return jsonResponse({ status: "unavailable", reason: "the broker is stopping" }, 503);
  }
  if (broker.persistence?.failing === true) {
    return jsonResponse(
      { status: "unavailable", reason: "persistence is failing to write to its store" },
      503,
    );
  }
  return jsonResponse({ status: "ok" });
}

/** Every route by path. */
export const ROUTES: ReadonlyMap<string, Route> = new Map<string, Route>([
  ["/", {
    auth: true,
    handle: () =>
      new Response(statusPage(), {
        headers: {
          "content-type": "text/html; charset=utf-8",
          "cache-control": NO_STORE,
          // Only the page's own inline blocks run, whatever a client id contains.
          "content-security-policy": statusPageSecurityPolicy(),
        },
      }),
  }],
  ["/metrics", {
    auth: true,
    handle: (broker) =>
      new Response(renderMetrics(takeStats(broker), readProcessFigures()), {
        headers: { "content-type": PROMETHEUS_CONTENT_TYPE, "cache-control": NO_STORE },
      }),
  }],
  ["/health", { auth: false, handle: health }],
  ["/api/v1/stats", { auth: true, handle: (broker) => jsonResponse(statsJson(takeStats(broker))) }],
  ["/api/v1/clients", { auth: true, handle: (broker) => jsonResponse(clientsJson(broker)) }],
  ["/api/v1/subscriptions", {
    auth: true,
    handle: (broker) => jsonResponse(subscriptionsJson(broker)),
  }],
  ["/api/v1/bridges", {
    auth: true,
    handle: (broker) => jsonResponse({ bridges: bridgesJson(broker.bridgeStats()) }),
  }],
]);
