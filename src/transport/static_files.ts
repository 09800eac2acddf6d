/**
 * Static files for a WebSocket listener's plain HTTP requests (Mosquitto's `http_dir`): a GET
 * or HEAD of a file under the directory is answered with it and a Content-Type by extension;
 * `/` and a directory give its `index.html`. As Mosquitto 2.0 (libwebsockets) answers: a
 * path that climbs out (`..`) or names nothing is 404, a file whose real path (symbolic links
 * followed) lies outside the directory is 403, another method is 405. No directory listing.
 *
 * @module
 */

import { extname, join, sep } from "node:path";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".htm": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".txt": "text/plain; charset=utf-8",
  ".xml": "application/xml",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".ico": "image/x-icon",
  ".wasm": "application/wasm",
  ".woff": "font/woff",
  ".woff2": "font/woff2",
};

/** The Content-Type for a file name, by its extension. */
export function contentType(name: string): string {
  return CONTENT_TYPES[extname(name).toLowerCase()] ?? "application/octet-stream";
}

/** The answer to a plain HTTP request and, for log lines, the file it served. */
export interface StaticAnswer {
  /** The response (a file or an error status). */
  response: Response;
  /** The file sent, if one was. */
  file?: string;
}

function status(code: 403 | 404 | 405): StaticAnswer {
  const headers: HeadersInit = code === 405 ? { allow: "GET, HEAD" } : {};
  return { response: new Response(null, { status: code, headers }) };
}

/**
 * The path segments of a request target, decoded; undefined if it is not a plain absolute
 * path or a segment is `.`, `..`, or holds a slash, a backslash or a NUL once decoded.
 */
function segments(target: string): string[] | undefined {
  if (!target.startsWith("/")) return undefined;
  const path = target.split(/[?#]/, 1)[0];
  const parts: string[] = [];
  for (const raw of path.split("/")) {
    if (raw === "") continue;
    let part: string;
    try {
      part = decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (part === "." || part === ".." || /[/\\\0]/.test(part)) return undefined;
    parts.push(part);
  }
  return parts;
}

async function realPath(path: string): Promise<string | undefined> {
  try {
    return await Deno.realPath(path);
  } catch {
    return undefined;
  }
}

/** Answer `method target` from the files under `dir`. */
export async function serveStatic(
  dir: string,
  request: { method: string; target: string },
): Promise<StaticAnswer> {
  if (request.method !== "GET" && request.method !== "HEAD") return status(405);
  const parts = segments(request.target);
  const root = await realPath(dir);
  if (parts === undefined || root === undefined) return status(404);
  let path = await realPath(join(root, ...parts));
  if (path === undefined) return status(404);
  if (path !== root && !path.startsWith(root + sep)) return status(403);
  try {
    if ((await Deno.stat(path)).isDirectory) {
      path = await realPath(join(path, "index.html"));
      if (path === undefined) return status(404);
      if (!path.startsWith(root + sep)) return status(403);
    }
    const body = await Deno.readFile(path);
    return {
      response: new Response(body, { headers: { "content-type": contentType(path) } }),
      file: path,
    };
  } catch {
    return status(404); // a directory named index.html, a file not readable, gone meanwhile
  }
}
