/**
 * The building blocks of the configuration schema: one `OptionSpec` per option, holding its
 * type, default, one-line documentation, how Midge supports it and how a written value is
 * parsed and checked. The tables of options live in `options_*.ts`; everything else (the
 * loaders, validation, `conf/midge.toml`, the README's option table, `midge convert`) reads
 * them.
 *
 * @module
 */

import type { RawScalar } from "./raw.ts";

/** The sections of a configuration file. */
export type SectionName = "general" | "listener" | "log" | "persistence" | "security" | "bridge";

/**
 * How Midge treats an option Mosquitto 2.0 has:
 * - `supported`: as Mosquitto does;
 * - `different`: it works, differently (the note says how);
 * - `legacy`: documented by older Mosquitto releases; accepted, with a notice of what Midge
 *   does instead (the note);
 * - `pending`: a feature Midge does not have yet; a value other than the default is refused
 *   (or, for `pendingSeverity: "warning"`, accepted with a warning); the note says what
 *   happens instead;
 * - `refused`: Midge cannot do it (the note says why); any value is refused.
 */
export type Support = "supported" | "different" | "legacy" | "pending" | "refused";

/** A value that does not fit its option; the message completes "KEY: ...". */
export class ValueProblem extends Error {}

/** One option. */
export interface OptionSpec<T = unknown> {
  /** Mosquitto's name, which is also the TOML key. */
  readonly name: string;
  /** What values look like, for documentation ("boolean", "integer 0-65535"...). */
  readonly kind: string;
  /** The value when the option is not set; undefined when it has none. */
  readonly default: T;
  /** One line of documentation. */
  readonly doc: string;
  /** How Midge supports it. */
  readonly support: Support;
  /** How it differs, what is done instead, or why it is refused. */
  readonly note?: string;
  /** For `pending` options: refuse to start (error) or start with a warning. */
  readonly pendingSeverity?: "error" | "warning";
  /** Whether SIGHUP applies a changed value (Mosquitto's "Reloaded on reload signal"). */
  readonly reload: boolean;
  /** Whether `mosquitto.conf` may repeat it, each line adding a value (TOML: an array). */
  readonly repeatable: boolean;
  /** A security option that a listener may set when `per_listener_settings` is true. */
  readonly perListener: boolean;
  /** Parse a written value; throws `ValueProblem`. `text`: the value is mosquitto.conf text. */
  parse(value: RawScalar | RawScalar[], text: boolean): T;
}

/** The value type of an option spec. */
export type ValueOf<S> = S extends OptionSpec<infer T> ? T : never;

/** A table of options. */
export type OptionTable = Readonly<Record<string, OptionSpec<unknown>>>;

/** The validated values of a table, key by key. */
export type SectionValues<S extends OptionTable> = { readonly [K in keyof S]: ValueOf<S[K]> };

/** What every option builder takes besides its type's own settings. */
export interface CommonSettings<T> {
  /** Default value. */
  default: T;
  /** One line of documentation. */
  doc: string;
  /** Support (default `supported`). */
  support?: Support;
  /** Note for `different`, `legacy`, `pending` and `refused`. */
  note?: string;
  /** For `pending`: error (default) or warning. */
  pendingSeverity?: "error" | "warning";
  /** Reloaded on SIGHUP (default true). */
  reload?: boolean;
  /** Per-listener security option. */
  perListener?: boolean;
}

function spec<T>(
  name: string,
  kind: string,
  settings: CommonSettings<T>,
  parse: (value: RawScalar | RawScalar[], text: boolean) => T,
  repeatable = false,
): OptionSpec<T> {
  return {
    name,
    kind,
    default: settings.default,
    doc: settings.doc,
    support: settings.support ?? "supported",
    note: settings.note,
    pendingSeverity: settings.support === "pending"
      ? settings.pendingSeverity ?? "error"
      : undefined,
    reload: settings.reload ?? true,
    repeatable,
    perListener: settings.perListener ?? false,
    parse,
  };
}

function single(value: RawScalar | RawScalar[]): RawScalar {
  if (Array.isArray(value)) throw new ValueProblem("takes one value, not a list");
  return value;
}

/** Parse a boolean: TOML true/false, or the words `true` / `false` in mosquitto.conf. */
export function parseBool(value: RawScalar | RawScalar[], text: boolean): boolean {
  const v = single(value);
  if (typeof v === "boolean") return v;
  if (text && (v === "true" || v === "1")) return true; // Mosquitto takes 1 and 0 too
  if (text && (v === "false" || v === "0")) return false;
  throw new ValueProblem(`must be true or false, not ${shown(v)}`);
}

/** Parse an integer in `min`-`max`. */
export function parseInt(
  value: RawScalar | RawScalar[],
  text: boolean,
  min: number,
  max: number,
): number {
  const v = single(value);
  let n: number;
  if (typeof v === "number") n = v;
  else if (text && typeof v === "string" && /^-?[0-9]+$/.test(v)) n = Number(v);
  else throw new ValueProblem(`must be an integer, not ${shown(v)}`);
  if (!Number.isSafeInteger(n)) throw new ValueProblem(`must be an integer, not ${shown(v)}`);
  if (n < min || n > max) throw new ValueProblem(`must be ${range(min, max)}, not ${n}`);
  return n;
}

function range(min: number, max: number): string {
  return max >= Number.MAX_SAFE_INTEGER ? `at least ${min}` : `${min}-${max}`;
}

/** Parse a non-empty string. */
export function parseString(value: RawScalar | RawScalar[], allowEmpty = false): string {
  const v = single(value);
  if (typeof v !== "string") throw new ValueProblem(`must be a string, not ${shown(v)}`);
  if (!allowEmpty && v === "") throw new ValueProblem("must not be empty");
  return v;
}

/** A value as an error message shows it. */
export function shown(v: RawScalar | RawScalar[]): string {
  return typeof v === "string" ? JSON.stringify(v) : Array.isArray(v) ? "a list" : String(v);
}

/** A boolean option. */
export function bool(name: string, settings: CommonSettings<boolean>): OptionSpec<boolean> {
  return spec(name, "boolean", settings, parseBool);
}

/** A boolean option without a default (its default depends on other options). */
export function optionalBool(
  name: string,
  settings: CommonSettings<boolean | undefined>,
): OptionSpec<boolean | undefined> {
  return spec(name, "boolean", settings, parseBool);
}

/** An integer option in `min`-`max`. */
export function int(
  name: string,
  min: number,
  max: number,
  settings: CommonSettings<number>,
): OptionSpec<number> {
  return spec(
    name,
    `integer ${range(min, max)}`,
    settings,
    (v, text) => parseInt(v, text, min, max),
  );
}

/** An integer option without a default. */
export function optionalInt(
  name: string,
  min: number,
  max: number,
  settings: CommonSettings<number | undefined>,
): OptionSpec<number | undefined> {
  return spec(
    name,
    `integer ${range(min, max)}`,
    settings,
    (v, text) => parseInt(v, text, min, max),
  );
}

/** A string option (a file path, a prefix...); undefined when unset unless it has a default. */
export function string<T extends string | undefined>(
  name: string,
  kind: string,
  settings: CommonSettings<T>,
  check?: (value: string) => void,
): OptionSpec<T> {
  return spec(name, kind, settings, (v) => {
    const s = parseString(v);
    check?.(s);
    return s as T;
  });
}

/** A value read from its text by `read`, which throws `ValueProblem`; undefined when unset. */
export function readFrom<T>(
  name: string,
  kind: string,
  settings: CommonSettings<T | undefined>,
  read: (value: string) => T,
): OptionSpec<T | undefined> {
  return spec(name, kind, settings, (v) => read(parseString(v)));
}

/** One of `values`. */
export function oneOf<V extends string, D extends V | undefined>(
  name: string,
  values: readonly V[],
  settings: CommonSettings<D>,
): OptionSpec<V | D> {
  return spec<V | D>(name, values.join(" | "), settings, (v) => {
    const s = parseString(v);
    if (!(values as readonly string[]).includes(s)) {
      throw new ValueProblem(`must be one of ${values.join(", ")}, not ${shown(s)}`);
    }
    return s as V;
  });
}

/**
 * A list: a TOML array of strings, or one value per line in mosquitto.conf (the option
 * repeated). `item` checks each value and reads it (by default, the string as written).
 */
export function list<T = string>(
  name: string,
  kind: string,
  settings: CommonSettings<readonly T[]>,
  item: (value: string) => T = (s) => s as T,
): OptionSpec<readonly T[]> {
  return spec(name, kind, settings, (v) => {
    const values = Array.isArray(v) ? v : [v];
    return values.map((one) => item(parseString(one)));
  }, true);
}

/**
 * A list of words: a TOML array of strings, or in mosquitto.conf words separated by spaces,
 * on one line or on several (the option repeated).
 */
export function words(
  name: string,
  kind: string,
  settings: CommonSettings<readonly string[]>,
): OptionSpec<readonly string[]> {
  return spec(name, kind, settings, (v, text) => {
    const values = (Array.isArray(v) ? v : [v]).map((one) => parseString(one));
    return text ? values.flatMap((line) => line.split(/[ \t]+/)) : values;
  }, true);
}

/**
 * A duration written as Mosquitto writes `persistent_client_expiration`: an integer and one of
 * h, d, w, m, y (hours, days, weeks, months of 30 days, years of 365 days). The value is in
 * seconds; 0 when unset.
 */
export function duration(name: string, settings: CommonSettings<number>): OptionSpec<number> {
  return spec(name, "duration: N followed by h, d, w, m or y", settings, (v) => {
    const s = parseString(v);
    const match = /^([0-9]+)([hdwmy])$/.exec(s);
    if (match === null) {
      throw new ValueProblem(`must be a number followed by h, d, w, m or y, not ${shown(s)}`);
    }
    return Number(match[1]) * DURATION_UNIT_SECONDS[match[2]];
  });
}

const DURATION_UNIT_SECONDS: Record<string, number> = {
  h: 3600,
  d: 86400,
  w: 7 * 86400,
  m: 30 * 86400,
  y: 365 * 86400,
};

/**
 * Mosquitto's options that take a suffix (`auth_opt_NAME`, `plugin_opt_NAME`): a family of
 * keys matched by prefix.
 */
export interface OptionFamily {
  /** The prefix, e.g. `auth_opt_`. */
  readonly prefix: string;
  /** The option standing for the family in documentation and errors. */
  readonly spec: OptionSpec<string | undefined>;
}
