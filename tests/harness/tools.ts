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

/** `true` when a test needing `tools` should be skipped here (some missing, not in CI). */
function skipWithout(tools: string[], install: string): boolean {
  const missing = tools.filter((c) => !onPath(c));
  if (missing.length === 0 || Deno.env.get("CI")) return false;
  const what = missing.join(", ");
  if (!told.has(what)) {
    told.add(what);
    console.error(`skipping the tests that need ${what}: not installed (${install})`);
  }
  return true;
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
 * A Python with the `cryptography` package, for the encrypted query client:
 * `python3` on the PATH, else Debian's `/usr/bin/python3` (a pyenv or venv
 * Python first on the PATH may lack what `apt install python3-cryptography`
 * put there); `undefined` when neither has it.
 */
export const PYTHON_CRYPTO: string | undefined = await (async () => {
  for (const python of ["python3", "/usr/bin/python3"]) {
    if (await imports(python, "cryptography")) return python;
  }
  return undefined;
})();

/**
 * `withPythonCrypto.test(...)`: the tests of the Python query client's
 * encryption (run them with `PYTHON_CRYPTO ?? "python3"`). Skipped outside
 * CI when no Python here has `cryptography`; in CI (`.ci/run` installs
 * python3-cryptography) they always run.
 */
export const withPythonCrypto = {
  test(def: Deno.TestDefinition): void {
    Deno.test({ ...def, ignore: def.ignore || (PYTHON_CRYPTO === undefined && skipNoCrypto()) });
  },
};

function skipNoCrypto(): boolean {
  if (Deno.env.get("CI")) return false;
  const what = "the Python cryptography package";
  if (!told.has(what)) {
    told.add(what);
    console.error(
      `skipping the tests that need ${what}: not installed (apt install python3-cryptography)`,
    );
  }
  return true;
}
