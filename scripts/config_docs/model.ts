/**
 * The documentation's view of the schema, shared by `conf/midge.toml` and the README's option
 * table: sections in order with a title and an introduction, their options with the value
 * shown, how Midge supports each, and what happens to a value of an option not built yet.
 *
 * @module
 */

import { SECTION_NAMES, SECTION_TABLES, SECURITY_FAMILIES } from "../../src/config/options.ts";
import type { OptionSpec, SectionName, Support } from "../../src/config/schema.ts";
import { type Shown, shownValue, tomlValue } from "./values.ts";

/** One option as documented. */
export interface DocOption {
  /** The option. */
  spec: OptionSpec;
  /** The name in tables (`auth_opt_*` for a family). */
  name: string;
  /** The key written in TOML (`auth_opt_NAME` for a family). */
  key: string;
  /** The value shown. */
  shown: Shown;
}

/** One section as documented. */
export interface DocSection {
  /** The section. */
  name: SectionName;
  /** A title for humans. */
  title: string;
  /** What the section holds; plain text, TOML headers written as `[log]`. */
  intro: string;
  /** What validation does with the section as a whole, if anything special. */
  rule: string | undefined;
  /** The TOML header line (`[log]`, `[[listener]]`), none for the top level. */
  header: string | undefined;
  /** Its options, in schema order. */
  options: DocOption[];
  /** Support and note shared by every option of the section, said once instead of per option. */
  common: { support: Support; note: string | undefined } | undefined;
  /** Whether no option of the section is applied by SIGHUP. */
  readAtStartOnly: boolean;
}

const TITLES: Readonly<Record<SectionName, string>> = {
  general: "Top level",
  log: "Logging",
  persistence: "Persistence",
  security: "Security",
  listener: "Listeners",
  bridge: "Bridges",
};

const INTROS: Readonly<Record<SectionName, string>> = {
  general: "Limits, queues and the process. Top-level keys come before any [table].",
  log: "Where log lines go, which are written and how they are stamped.",
  persistence: "Keeping sessions, queued and retained messages across restarts.",
  security: "Who may connect. With per_listener_settings = true, the options that may be set " +
    "per listener are set in each [[listener]] instead of here.",
  listener: "One [[listener]] table per network listener. With none, Midge runs in local-only " +
    "mode as Mosquitto 2.0 does: it listens on 127.0.0.1 and ::1, port 1883, and lets " +
    "anonymous clients in. With one or more, only those listen, and allow_anonymous defaults " +
    "to false.",
  bridge: "Connections to other brokers, one [[bridge]] table each.",
};

/** What validation does with a whole section, said after its introduction. */
const RULES: Readonly<Partial<Record<SectionName, string>>> = {
  bridge: "In mosquitto.conf a connection NAME line starts a bridge and the bridge options " +
    "that follow belong to it. Messages going out at QoS 1 and 2 are kept while the remote " +
    "broker is away (bridge_max_queued_messages, in the store with persistence) and sent in " +
    "order when it is back; see Bridges above.",
};

/** The sections of the documentation, in file order. */
export function docSections(): DocSection[] {
  return SECTION_NAMES.map((name) => {
    const options: DocOption[] = Object.values(SECTION_TABLES[name]).map((spec) => ({
      spec,
      name: spec.name,
      key: spec.name,
      shown: shownValue(spec),
    }));
    if (name === "security") options.push(...familyOptions());
    const first = options[0].spec;
    const shared = options.every((o) =>
      o.spec.support === first.support && o.spec.note === first.note
    );
    return {
      name,
      title: TITLES[name],
      intro: INTROS[name],
      rule: RULES[name],
      header: name === "general"
        ? undefined
        : name === "listener" || name === "bridge"
        ? `[[${name}]]`
        : `[${name}]`,
      options,
      common: shared && first.support !== "supported"
        ? { support: first.support, note: first.note }
        : undefined,
      readAtStartOnly: options.every((o) => !o.spec.reload),
    };
  });
}

/** `auth_opt_*` and `plugin_opt_*` as options, written `auth_opt_NAME` in TOML. */
function familyOptions(): DocOption[] {
  return SECURITY_FAMILIES.map((family) => ({
    spec: family.spec,
    name: family.spec.name,
    key: `${family.prefix}NAME`,
    shown: shownValue(family.spec),
  }));
}

/** The security options a `[[listener]]` takes when per_listener_settings is true. */
export function perListenerOptions(sections: readonly DocSection[]): DocOption[] {
  const security = sections.find((s) => s.name === "security")!;
  return security.options.filter((o) => o.spec.perListener);
}

/** What the README's Midge column says for each kind of support. */
export const SUPPORT_LABELS: Readonly<Record<Support, string>> = {
  supported: "supported",
  different: "supported differently",
  legacy: "accepted, ignored (legacy)",
  pending: "not yet",
  refused: "refused",
};

/**
 * For an option not built yet: what happens to a value, e.g. "a value other than false is
 * refused"; `code` marks values up (backticks in Markdown). Undefined for other options.
 */
export function pendingRule(spec: OptionSpec, code: (text: string) => string): string | undefined {
  if (spec.support !== "pending") return undefined;
  const outcome = spec.pendingSeverity === "warning" ? "is accepted with a warning" : "is refused";
  if (spec.default === undefined) {
    return spec.pendingSeverity === "warning"
      ? "setting it is accepted with a warning"
      : "setting it is refused";
  }
  const shown = shownValue(spec);
  return shown.isDefault
    ? `a value other than ${code(tomlValue(shown.value))} ${outcome}`
    : `a value other than the default ${outcome}`;
}
