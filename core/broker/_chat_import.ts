/**
 * `!import`: copying a file or directory the chat received into a directory
 * of the user's, never overwriting an existing entry unless asked to.
 */
import { join } from "node:path";

/** Where an import went: `renamed` when written beside an existing entry, `replaced` when it replaced one. */
export interface ImportResult {
  dest: string;
  renamed: boolean;
  replaced: boolean;
}

/**
 * Copies the entry `name` of `received` into `destDir`. An existing entry of
 * that name is never overwritten unless `force`: the copy is written beside
 * it as `NAME.1`, `NAME.2`, ... (`renamed`).
 */
export async function importReceived(
  received: string,
  name: string,
  destDir: string,
  force: boolean,
): Promise<ImportResult> {
  if (name.includes("/") || name.startsWith(".")) {
    throw new Error(`Cannot import "${name}": give the name shown when it arrived`);
  }
  const src = join(received, name);
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(src);
  } catch {
    throw new Error(`Cannot import "${name}": nothing of that name was received`);
  }
  let dest = join(destDir, name);
  const exists = async (p: string) => await Deno.lstat(p).then(() => true, () => false);
  let renamed = false;
  let replaced = false;
  if (await exists(dest)) {
    if (force) {
      await Deno.remove(dest, { recursive: true });
      replaced = true;
    } else {
      let n = 1;
      while (await exists(`${dest}.${n}`)) n++;
      dest = `${dest}.${n}`;
      renamed = true;
    }
  }
  await copy(src, dest, info.isDirectory);
  return { dest, renamed, replaced };
}

async function copy(src: string, dest: string, dir: boolean): Promise<void> {
  if (!dir) {
    await Deno.copyFile(src, dest);
    return;
  }
  await Deno.mkdir(dest, { recursive: true });
  for await (const e of Deno.readDir(src)) {
    await copy(join(src, e.name), join(dest, e.name), e.isDirectory);
  }
}
