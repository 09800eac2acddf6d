/**
 * A small C `strftime` in local time (the process's `TZ`), C locale, for
 * `log_timestamp_format` and syslog headers. Unknown conversions are kept as written.
 *
 * @module
 */

const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

let zoneNames: Intl.DateTimeFormat | undefined;

function pad(n: number, width: number, fill = "0"): string {
  return String(n).padStart(width, fill);
}

/** Hour on a 12-hour clock, 1-12. */
function hour12(date: Date): number {
  return date.getHours() % 12 || 12;
}

/** Day of the year, 1-366. */
function dayOfYear(date: Date): number {
  const start = Date.UTC(date.getFullYear(), 0, 1);
  const today = Date.UTC(date.getFullYear(), date.getMonth(), date.getDate());
  return (today - start) / 86_400_000 + 1;
}

/** Offset from UTC as `+hhmm`. */
function offset(date: Date): string {
  const minutes = -date.getTimezoneOffset();
  const abs = Math.abs(minutes);
  return (minutes < 0 ? "-" : "+") + pad(Math.floor(abs / 60), 2) + pad(abs % 60, 2);
}

/** The zone's short name (`UTC`, `EST`), or an offset such as `GMT+1` where there is none. */
function zoneName(date: Date): string {
  zoneNames ??= new Intl.DateTimeFormat("en-US", { timeZoneName: "short" });
  for (const part of zoneNames.formatToParts(date)) {
    if (part.type === "timeZoneName") return part.value;
  }
  return offset(date);
}

/** One conversion, or undefined for one this module does not know. */
function convert(spec: string, d: Date): string | undefined {
  switch (spec) {
    case "Y":
      return String(d.getFullYear());
    case "C":
      return pad(Math.floor(d.getFullYear() / 100), 2);
    case "y":
      return pad(d.getFullYear() % 100, 2);
    case "m":
      return pad(d.getMonth() + 1, 2);
    case "d":
      return pad(d.getDate(), 2);
    case "e":
      return pad(d.getDate(), 2, " ");
    case "j":
      return pad(dayOfYear(d), 3);
    case "H":
      return pad(d.getHours(), 2);
    case "k":
      return pad(d.getHours(), 2, " ");
    case "I":
      return pad(hour12(d), 2);
    case "l":
      return pad(hour12(d), 2, " ");
    case "M":
      return pad(d.getMinutes(), 2);
    case "S":
      return pad(d.getSeconds(), 2);
    case "p":
      return d.getHours() < 12 ? "AM" : "PM";
    case "a":
      return DAYS[d.getDay()].slice(0, 3);
    case "A":
      return DAYS[d.getDay()];
    case "u":
      return String(d.getDay() || 7);
    case "w":
      return String(d.getDay());
    case "b":
    case "h":
      return MONTHS[d.getMonth()].slice(0, 3);
    case "B":
      return MONTHS[d.getMonth()];
    case "z":
      return offset(d);
    case "Z":
      return zoneName(d);
    case "s":
      return String(Math.floor(d.getTime() / 1000));
    case "F":
      return strftime("%Y-%m-%d", d);
    case "T":
    case "X":
      return strftime("%H:%M:%S", d);
    case "D":
    case "x":
      return strftime("%m/%d/%y", d);
    case "R":
      return strftime("%H:%M", d);
    case "c":
      return strftime("%a %b %e %H:%M:%S %Y", d);
    case "n":
      return "\n";
    case "t":
      return "\t";
    case "%":
      return "%";
    default:
      return undefined;
  }
}

/**
 * Format `date` as C `strftime(format)` does in the C locale, in local time. Supports
 * `%Y %C %y %m %d %e %j %H %k %I %l %M %S %p %a %A %u %w %b %h %B %z %Z %s %F %T %D %R %c %x
 * %X %n %t %%`; any other `%` sequence, and a trailing `%`, is kept as written. `%Z` is the
 * zone's short name where the runtime knows one, else an offset such as `GMT+1`.
 *
 * @example
 * ```ts
 * strftime("%Y-%m-%dT%H:%M:%S", new Date(1_700_000_000_000)); // "2023-11-14T22:13:20" in UTC
 * ```
 */
export function strftime(format: string, date: Date): string {
  let out = "";
  let from = 0;
  for (let i = format.indexOf("%"); i !== -1 && i < format.length - 1; i = format.indexOf("%", i)) {
    const converted = convert(format[i + 1], date);
    if (converted === undefined) {
      i += 1; // keep "%" and what follows literally
      continue;
    }
    out += format.slice(from, i) + converted;
    i += 2;
    from = i;
  }
  return out + format.slice(from);
}
