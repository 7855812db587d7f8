/**
 * The soft and hard open-file limits (`ulimit -n`, `ulimit -Hn`) of this
 * process, or `undefined` when they cannot be read. Reads `/proc/self/limits`
 * when allowed (Deno wants --allow-all for it), else asks `sh`, which
 * inherits the same limits.
 */
export async function openFileLimit(): Promise<{ soft: number; hard: number } | undefined> {
  const n = (s: string) => s === "unlimited" ? Infinity : Number(s);
  try {
    const text = await Deno.readTextFile("/proc/self/limits");
    const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(text);
    if (m) return { soft: n(m[1]!), hard: n(m[2]!) };
  } catch {
    // Not permitted or not Linux: ask the shell.
  }
  try {
    const out = await new Deno.Command("sh", {
      args: ["-c", "ulimit -n; ulimit -Hn"],
      stdout: "piped",
      stderr: "null",
    }).output();
    const [soft, hard] = new TextDecoder().decode(out.stdout).trim().split(/\s+/);
    if (soft && hard && /^(\d+|unlimited)$/.test(soft) && /^(\d+|unlimited)$/.test(hard)) {
      return { soft: n(soft), hard: n(hard) };
    }
  } catch {
    // No shell either.
  }
  return undefined;
}
