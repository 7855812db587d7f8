/**
 * Bench progress on the terminal, drawn by the npm package `cli-progress`
 * (it runs under Deno's Node compatibility): a status line from the first
 * second (the phase and the time spent in it), optional counters, and log
 * lines printed above the bars, never glued onto them. Without a terminal
 * on stderr, each new phase is one plain line and counters stay silent.
 */
import cliProgress from "cli-progress";
import process from "node:process";

const encoder = new TextEncoder();

/** A counter bar (`sent 120,000/500,000`). */
export interface ProgressCounter {
  update(value: number, text?: string): void;
}

/** What {@linkcode startProgress} returns; `using` stops it. */
export interface Progress extends Disposable {
  /** Names the current phase (shown with the time spent in it). */
  phase(text: string): void;
  /** Adds a counter bar under the status line. */
  counter(label: string, total: number): ProgressCounter;
  /** Prints a line above the bars (or plainly without a terminal). */
  log(line: string): void;
  /** Removes the bars. Idempotent. */
  stop(): void;
}

let active: Progress | undefined;

/**
 * Writes one line to stderr, above the active progress bars if there are
 * any: the logger's sink, so a log line never lands on a progress line.
 */
export function stderrLine(line: string): void {
  if (active) active.log(line);
  else {
    try {
      Deno.stderr.writeSync(encoder.encode(line + "\n"));
    } catch { /* stderr closed */ }
  }
}

/** Starts a progress display titled `title` (for example `"broker bench"`). */
export function startProgress(
  title: string,
  options: { terminal?: boolean } = {},
): Progress {
  const terminal = options.terminal ?? Deno.stderr.isTerminal();
  active?.stop();
  const p = terminal ? terminalProgress(title) : plainProgress(title);
  active = p;
  return p;
}

function plainProgress(title: string): Progress {
  let last = "";
  const p: Progress = {
    phase(text) {
      if (text === last) return;
      last = text;
      stderrWrite(`${title}: ${text}`);
    },
    counter: () => ({ update() {} }),
    log: stderrWrite,
    stop() {
      if (active === p) active = undefined;
    },
    [Symbol.dispose]() {
      p.stop();
    },
  };
  return p;
}

function stderrWrite(line: string): void {
  try {
    Deno.stderr.writeSync(encoder.encode(line + "\n"));
  } catch { /* stderr closed */ }
}

function terminalProgress(title: string): Progress {
  const bars = new cliProgress.MultiBar({
    stream: process.stderr,
    clearOnComplete: true,
    hideCursor: false,
    fps: 5,
    forceRedraw: true,
    emptyOnZero: true,
    barsize: 24,
    format: "{title} [{bar}] {value}/{total} {text}",
  }, cliProgress.Presets.shades_classic);
  let phaseStart = Date.now();
  const status = bars.create(0, 0, { title: `${title}:`, text: "starting" }, {
    format: "{title} {text} {elapsed}",
  });
  const elapsed = () => `(${((Date.now() - phaseStart) / 1000).toFixed(0)} s)`;
  status.update(0, { elapsed: elapsed() });
  const tick = setInterval(() => status.update(0, { elapsed: elapsed() }), 500);
  let stopped = false;
  const p: Progress = {
    phase(text) {
      phaseStart = Date.now();
      status.update(0, { text, elapsed: elapsed() });
    },
    counter(label, total) {
      const bar = bars.create(total, 0, { title: `  ${label}`, text: "" });
      return { update: (value, text = "") => bar.update(Math.min(value, total), { text }) };
    },
    log(line) {
      if (stopped) stderrWrite(line);
      else bars.log(line + "\n");
    },
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(tick);
      bars.stop();
      if (active === p) active = undefined;
    },
    [Symbol.dispose]() {
      p.stop();
    },
  };
  return p;
}
