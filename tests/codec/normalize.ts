/**
 * Test helper: packets compared field by field, with keys whose value is undefined removed
 * (the decoder keeps a fixed shape for PUBLISH, fixtures leave absent fields out).
 *
 * @module
 */

/** A deep copy of `value` without undefined-valued keys; typed arrays are kept as they are. */
export function withoutUndefined<T>(value: T): T {
  if (Array.isArray(value)) return value.map(withoutUndefined) as T;
  if (value instanceof Uint8Array || value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v !== undefined) out[k] = withoutUndefined(v);
  }
  return out as T;
}
