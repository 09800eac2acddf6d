/**
 * Mosquitto's own programs for the password tests: mosquitto_passwd, the broker
 * (/usr/sbin/mosquitto) and Python's pty module, as Peers for `interopTest`; running a command
 * to its end with a bound, or on a terminal; starting and stopping a Mosquitto broker with a
 * password file.
 *
 * @module
 */

import { type Peer, PYTHON, sleep, Subprocess } from "../interop/helpers.ts";
import { accepts, freePort } from "../fixtures/net.ts";

function onPath(command: string): string | undefined {
  if (command.includes("/")) {
    try {
      return Deno.statSync(command).isFile ? command : undefined;
    } catch {
      return undefined;
    }
  }
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir === "") continue;
    try {
      if (Deno.statSync(`${dir}/${command}`).isFile) return `${dir}/${command}`;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

function commandPeer(name: string, command: string): Peer {
  return {
    name,
    missing: onPath(command) === undefined ? `${command} not found` : undefined,
  };
}

/** Debian's mosquitto_passwd (package mosquitto). */
export const MOSQUITTO_PASSWD: Peer = commandPeer("mosquitto_passwd", "mosquitto_passwd");

/** The Mosquitto broker. */
export const MOSQUITTO_BROKER: Peer = commandPeer("mosquitto", "/usr/sbin/mosquitto");

/** mosquitto_pub, to log in to a broker. */
export const MOSQUITTO_PUB: Peer = commandPeer("mosquitto_pub", "mosquitto_pub");

/** Python with its pty module, to run a program on a terminal. */
export const PYTHON_PTY: Peer = (() => {
  const peer = commandPeer(`${PYTHON} (pty)`, PYTHON);
  if (peer.missing !== undefined) return peer;
  const out = new Deno.Command(PYTHON, {
    args: ["-c", "import pty"],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).outputSync();
  return out.success ? peer : { ...peer, missing: `${PYTHON} has no pty module` };
})();

/** How a command ended. */
export interface CommandResult {
  /** Exit code. */
  code: number;
  /** Standard output. */
  stdout: string;
  /** Standard error. */
  stderr: string;
}

/** Options of `runCommand`. */
export interface RunCommandOptions {
  /** Working directory. */
  cwd?: string;
  /** Written to standard input, which is then closed (default: no input). */
  input?: string;
  /** Environment added to this one. */
  env?: Record<string, string>;
  /** Killed, and the test failed, after this many ms (default 15 s). */
  timeoutMs?: number;
}

/** Run `command` to its end (bounded) and collect its output. */
export async function runCommand(
  command: string,
  args: string[],
  options: RunCommandOptions = {},
): Promise<CommandResult> {
  const child = new Deno.Command(command, {
    args,
    cwd: options.cwd,
    env: options.env,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  try {
    if (options.input !== undefined) await writer.write(new TextEncoder().encode(options.input));
    await writer.close();
  } catch {
    // it exited without reading its input
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  const timeoutMs = options.timeoutMs ?? 15_000;
  timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // gone already
    }
  }, timeoutMs);
  const out = await child.output();
  clearTimeout(timer);
  timer = undefined;
  const dec = new TextDecoder();
  const result = { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  if (timedOut) {
    throw new Error(`${command} ${args.join(" ")}: killed after ${timeoutMs} ms\n${result.stderr}`);
  }
  return result;
}

/** A running Mosquitto broker. */
export interface MosquittoBroker {
  /** Its port on 127.0.0.1. */
  port: number;
  /** Stop it (SIGTERM, by its process id) and wait for it; resolves to its log. */
  stop(): Promise<string>;
}

/**
 * Start /usr/sbin/mosquitto on a free port of 127.0.0.1 with `passwordFile` and no anonymous
 * access, logging to a file in `dir`. `user root` keeps a broker started as root from
 * switching to the mosquitto user, who could not read files of a temporary directory.
 */
export async function startMosquitto(dir: string, passwordFile: string): Promise<MosquittoBroker> {
  const port = freePort();
  const log = `${dir}/mosquitto.log`;
  const conf = `${dir}/mosquitto.conf`;
  await Deno.writeTextFile(
    conf,
    [
      "user root",
      `listener ${port} 127.0.0.1`,
      `password_file ${passwordFile}`,
      "allow_anonymous false",
      `log_dest file ${log}`,
      "",
    ].join("\n"),
  );
  const broker = new Subprocess("/usr/sbin/mosquitto", ["-c", conf]);
  const readLog = () => Deno.readTextFile(log).catch(() => "(no log)");
  let up = false;
  const deadline = Date.now() + 5000;
  for (let i = 0; i < 500 && Date.now() < deadline && !broker.exited && !up; i++) {
    up = await accepts(port);
    if (!up) await sleep(10);
  }
  if (!up) {
    await broker.kill("SIGKILL");
    throw new Error(
      `mosquitto did not listen on ${port} within 5 s\n${broker.describe()}\n` +
        `--- mosquitto log ---\n${await readLog()}`,
    );
  }
  return {
    port,
    async stop() {
      await broker.kill("SIGTERM");
      return await readLog();
    },
  };
}

/**
 * Python: run argv[2:] on a pseudo-terminal, type the two answers of the JSON list argv[1] at
 * the "Password: " and "Reenter password: " prompts, and print what the terminal showed and
 * the exit code as JSON. Every wait is bounded.
 */
const PTY_SCRIPT = `
import json, os, pty, select, sys, time
answers = [a.encode("latin-1") for a in json.loads(sys.argv[1])]
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
out = b""
def read_until(marker, seconds):
    global out
    deadline = time.time() + seconds
    while marker not in out and time.time() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                data = os.read(fd, 4096)
            except OSError:
                return
            if not data:
                return
            out += data
read_until(b"Password: ", 20)
os.write(fd, answers[0])
read_until(b"Reenter password: ", 10)
os.write(fd, answers[1])
read_until(b"\\x00never", 3)
for _ in range(100):
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    time.sleep(0.05)
else:
    os.kill(pid, 9)
    done, status = os.waitpid(pid, 0)
print(json.dumps({"out": out.decode("latin-1"), "code": os.waitstatus_to_exitcode(status)}))
`;

/** What a program showed on a terminal, and its exit code. */
export interface TerminalRun {
  /** Everything written to the terminal (echo included). */
  out: string;
  /** Exit code. */
  code: number;
}

/** Run `argv` on a pseudo-terminal, typing `answers` at the two password prompts. */
export async function runOnTerminal(
  argv: string[],
  answers: [string, string],
): Promise<TerminalRun> {
  const r = await runCommand(PYTHON, ["-c", PTY_SCRIPT, JSON.stringify(answers), ...argv], {
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
    timeoutMs: 40_000,
  });
  if (r.code !== 0) throw new Error(`${PYTHON} failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}
