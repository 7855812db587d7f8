/**
 * Tests that need a program beyond Node.js/npm and redis-server (the README's fresh machine):
 * outside CI they are skipped when it is missing, and say so once; in CI (`CI` set; `.ci/run`
 * installs what is missing) they always run, so a missing program fails them.
 */
import { join } from "node:path";

/** Whether `cmd` is a file on the PATH. */
function onPath(cmd: string): boolean {
  return (Deno.env.get("PATH") ?? "").split(":").some((dir) => {
    try {
      return Deno.statSync(join(dir, cmd)).isFile;
    } catch {
      return false;
    }
  });
}

const told = new Set<string>();

/** `true` when a test needing `missing` ("" when nothing is) should be skipped here (not in CI). */
function skip(missing: string, install: string): boolean {
  if (missing === "" || Deno.env.get("CI")) return false;
  if (!told.has(missing)) {
    told.add(missing);
    console.error(`skipping the tests that need ${missing}: not installed (${install})`);
  }
  return true;
}

/** `true` when a test needing `tools` should be skipped here (some missing, not in CI). */
function skipWithout(tools: string[], install: string): boolean {
  return skip(tools.filter((c) => !onPath(c)).join(", "), install);
}

type TestFn = (t: Deno.TestContext) => void | Promise<void>;

/** `Deno.test` for tests that need `tools`, skipped outside CI when one is missing. */
export function needs(tools: string[], install: string): {
  test(def: Deno.TestDefinition | string, fn?: TestFn): void;
} {
  return {
    test(def, fn) {
      const d: Deno.TestDefinition = typeof def === "string" ? { name: def, fn: fn! } : def;
      Deno.test({ ...d, ignore: d.ignore || skipWithout(tools, install) });
    },
  };
}

/** `withNats.test(...)`: the broker cluster tests. */
export const withNats = needs(["nats-server"], "apt install nats-server");
/** `withPoppler.test(...)`: the PDF report test. */
export const withPoppler = needs(["pdfinfo", "pdftotext", "pdftoppm"], "apt install poppler-utils");

/** Whether `python` can import `module`. */
async function imports(python: string, module: string): Promise<boolean> {
  try {
    const o = await new Deno.Command(python, {
      args: ["-c", `import ${module}`],
      stdout: "null",
      stderr: "null",
    }).output();
    return o.success;
  } catch {
    return false;
  }
}

/**
 * For tests that need a Python importing `module`: `python` is `python3` on
 * the PATH when it can, else Debian's `/usr/bin/python3` (a pyenv or venv
 * Python first on the PATH may lack what apt installed), and `test` is
 * `Deno.test`, skipped outside CI when neither can (in CI, `.ci/run`
 * installs `install` and they always run). Only the test files that call it
 * start the probing Pythons.
 */
export async function withPythonModule(module: string, install: string): Promise<{
  python: string;
  test(def: Deno.TestDefinition): void;
}> {
  let python: string | undefined;
  for (const candidate of ["python3", "/usr/bin/python3"]) {
    if (await imports(candidate, module)) {
      python = candidate;
      break;
    }
  }
  const missing = python === undefined ? `the Python ${module} package` : "";
  return {
    python: python ?? "python3",
    test(def) {
      Deno.test({ ...def, ignore: def.ignore || skip(missing, install) });
    },
  };
}
