/**
 * The chat's `!commands` other than `!exit`: `!upload PATH` sends a file or
 * directory, `!import [--force] NAME` (and aioconnectors' `!zimport` and
 * `!dezip`) copies a received one into the current directory. Shell
 * commands are not offered.
 */
import type { FileResult } from "./api.ts";
import type { ImportResult } from "./_chat_import.ts";

/** What the commands act on: the chat session. */
export interface ChatCommandTarget {
  upload(path: string): Promise<FileResult>;
  import(name: string, destDir: string, options: { force?: boolean }): Promise<ImportResult>;
}

/**
 * Runs one `!command` line (`text` starts with `!`), printing the outcome.
 * Resolves `false` when an upload was not delivered.
 */
export async function runChatCommand(
  text: string,
  target: ChatCommandTarget,
  print: (line: string) => void,
): Promise<boolean> {
  const [cmd, ...rest] = text.slice(1).split(" ");
  const arg = rest.join(" ").trim();
  try {
    if (cmd === "upload" && arg) {
      const r = await target.upload(arg);
      print(
        `* sent ${r.dir ? "directory" : "file"} "${arg}" (${r.files} file(s), ${r.bytes} bytes)`,
      );
    } else if ((cmd === "import" || cmd === "zimport" || cmd === "dezip") && arg) {
      // directories arrive as directories (not zip files), so aioconnectors'
      // !zimport / !dezip are the same as !import here
      const force = /^--force\s+/.test(arg);
      const what = arg.replace(/^--force\s+/, "");
      const r = await target.import(what, Deno.cwd(), { force });
      print(
        r.renamed
          ? `* imported "${what}" as ${r.dest} ("${what}" exists here; !import --force ${what} replaces it)`
          : `* imported "${what}" to ${r.dest}${r.replaced ? " (replaced the existing one)" : ""}`,
      );
    } else {
      print(
        `* unknown command "!${cmd}": use !upload PATH, !import NAME, !import --force NAME or !exit (shell commands are not offered)`,
      );
    }
  } catch (err) {
    print(`* ${(err as Error).message}`);
    return cmd !== "upload"; // an upload that failed is something not delivered
  }
  return true;
}
