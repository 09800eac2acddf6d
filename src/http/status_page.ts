/**
 * The status page served at `/` by an HTTP listener. (Placeholder until the live page lands.)
 *
 * @module
 */

/** The page's HTML, complete (styles and script inline). */
export function statusPage(): string {
  return "<!doctype html><html lang=en><meta charset=utf-8><title>Midge</title>" +
    "<p>Midge status: see <a href=/api/v1/stats>/api/v1/stats</a>.</p></html>";
}
