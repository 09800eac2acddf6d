/**
 * The README's table of every Mosquitto 2.0 option: one Markdown table per section and one for
 * mosquitto.conf's structural lines, saying where each option goes in TOML and how Midge
 * supports it. The output is already as `deno fmt` writes Markdown (aligned columns), so the
 * generator's check and `deno fmt --check` agree.
 *
 * @module
 */

import {
  BRIDGE_OPTIONS,
  type Directive,
  LISTENER_OPTIONS,
  MOSQUITTO_DIRECTIVES,
  SECTION_NAMES,
  SECTION_TABLES,
  SECURITY_FAMILIES,
} from "../../src/config/options.ts";
import {
  type DocOption,
  type DocSection,
  docSections,
  pendingRule,
  SUPPORT_LABELS,
} from "./model.ts";

const COLUMNS = ["option", "where in TOML", "Midge", "notes"];

/** The Markdown that goes between the README's config-options markers. */
export function renderOptionTable(): string {
  const parts: string[] = [
    paragraph(
      'Generated from the schema in `src/config/` by `deno task docs`. "Not yet" options are ' +
        "accepted at their default; what happens to other values is in the notes.",
    ),
  ];
  for (const section of docSections()) {
    const title = section.header === undefined
      ? section.title
      : `${section.title}: \`${section.header}\``;
    const intro = [
      section.intro,
      section.common?.note,
      section.rule,
      section.readAtStartOnly ? "SIGHUP does not change these: restart to apply." : undefined,
    ].filter((s) => s !== undefined).join(" ");
    parts.push(
      `#### ${title}`,
      paragraph(markdownText(intro)),
      table(COLUMNS, section.options.map((o) => optionRow(section, o))),
    );
  }
  parts.push(
    "#### mosquitto.conf lines",
    paragraph(
      "Lines of mosquitto.conf that shape the file rather than set an option of a section.",
    ),
    table(COLUMNS, MOSQUITTO_DIRECTIVES.map(directiveRow)),
  );
  return parts.join("\n\n") + "\n";
}

function optionRow(section: DocSection, option: DocOption): string[] {
  const { spec } = option;
  const notes: string[] = [];
  if (section.common === undefined && spec.note !== undefined) notes.push(spec.note);
  const rule = section.common === undefined ? pendingRule(spec, (s) => `\`${s}\``) : undefined;
  if (rule !== undefined) notes.push(capitalised(rule) + ".");
  if (!spec.reload && !section.readAtStartOnly) notes.push("SIGHUP does not change it.");
  return [
    `\`${option.name}\``,
    where(section, option),
    SUPPORT_LABELS[spec.support],
    markdownText(notes.join(" ")),
  ];
}

function where(section: DocSection, option: DocOption): string {
  if (section.header === undefined) return "top level";
  if (section.name === "security" && option.spec.perListener) {
    return "`[security]`, or `[[listener]]` with `per_listener_settings`";
  }
  return `\`${section.header}\``;
}

function directiveRow(directive: Directive): string[] {
  return [
    `\`${directive.name}\``,
    directiveWhere(directive.name),
    SUPPORT_LABELS[directive.support],
    markdownText(directive.note ?? ""),
  ];
}

/** Where a mosquitto.conf line's setting goes in TOML. */
function directiveWhere(name: string): string {
  if (name === "listener" || Object.hasOwn(LISTENER_OPTIONS, name)) return "`[[listener]]`";
  if (name === "bridge" || Object.hasOwn(BRIDGE_OPTIONS, name)) return "`[[bridge]]`";
  return "mosquitto.conf only";
}

function capitalised(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Every option name and family prefix, to be set as code where notes mention them. */
function knownNames(): Set<string> {
  const names = new Set<string>();
  for (const section of SECTION_NAMES) {
    for (const key of Object.keys(SECTION_TABLES[section])) names.add(key);
  }
  for (const family of SECURITY_FAMILIES) names.add(family.spec.name);
  return names;
}

const CODE_LIKE =
  /[a-z0-9]+(?:_[a-z0-9]+)+ = (?:true|false)\b|\[\[?[A-Za-z_]+\]\]?|[A-Za-z0-9_.]*\*[A-Za-z0-9_.*]*|[a-z0-9]+(?:_[a-z0-9.]+)+/g;

/**
 * Plain schema text as Markdown: TOML headers, wildcard names and option names become code
 * (which also keeps `*` and `[[...]]` from being read as Markdown), and `|` is escaped for
 * tables.
 */
function markdownText(text: string): string {
  const names = knownNames();
  return text.replace(CODE_LIKE, (match) => {
    const trimmed = match.replace(/\.+$/, "");
    const rest = match.slice(trimmed.length);
    const isName = /_/.test(trimmed) && !/[\[*=]/.test(trimmed);
    if (isName && !names.has(trimmed)) return match;
    return `\`${trimmed}\`${rest}`;
  }).replaceAll("|", "\\|");
}

/**
 * Markdown prose wrapped at 100 columns like the rest of the README, breaking only between
 * words outside code spans; throws if a line would start like a list item or a heading.
 */
function paragraph(text: string): string {
  const words = text.match(/(?:`[^`]*`|[^\s`])+/g) ?? [];
  const lines: string[] = [];
  let current = "";
  for (const word of words) {
    if (current !== "" && current.length + 1 + word.length > 100) {
      lines.push(current);
      current = word;
    } else {
      current = current === "" ? word : `${current} ${word}`;
    }
  }
  lines.push(current);
  for (const line of lines.slice(1)) {
    if (/^([0-9]+[.)]|[-*+#>]|=+)(\s|$)/.test(line)) {
      throw new Error(`Markdown would misread: ${line}`);
    }
  }
  return lines.join("\n");
}

/** A Markdown table with columns padded as `deno fmt` pads them. */
function table(headers: readonly string[], rows: readonly string[][]): string {
  const widths = headers.map((h, i) => Math.max(3, h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
