import assert from "node:assert/strict";
import { join } from "node:path";
import { type ConfigData, ConfigError, loadConfigFile, parseConfigParser } from "./mod.ts";

/**
 * Files configparser reads without error, each a trap for an INI reader that
 * is not configparser: `#`/`;` inside values, `:` as delimiter, comment
 * lines, continuations, spaces around delimiters, upper-case keys, BOM, CRLF.
 */
const TRICKY: Record<string, string> = {
  hash_semicolon_in_values: "[DEFAULT]\nlinuxpath=w#1.txt\nother=/x/w;2.txt\nurl = a#b;c\n",
  colon_delimiter: "[DEFAULT]\nlinuxpath: /x/words.txt\nport:44445\nurl = http://h:1/p\n" +
    "k:v=w\n",
  comment_lines: "# top\n; top\n[DEFAULT]\n  # indented comment\n\t; tab comment\nport = 1\n" +
    "#port = 2\n;port = 3\n",
  continuation: "[DEFAULT]\nlist = one\n  two\n\n  three\n\t four # kept\nnext = x\n" +
    "  # a comment, not part of list\n  tail\n\n\n",
  spaces: "[DEFAULT]\n  port   =   44445   \nhost\t=\t127.0.0.1\t\nempty =\nempty2:\n",
  upper_case: "[DEFAULT]\nLINUXPATH = /x/A.txt\nReRead_On_Query = True\n[Search]\nPORT=1\n",
  bom: "\uFEFF[DEFAULT]\nlinuxpath = /x/bom.txt\n",
  crlf: "[DEFAULT]\r\nlinuxpath = /x/crlf.txt\r\nlist = a\r\n  b\r\n[search]\r\nport=2\r\n",
  inline_comments: "[DEFAULT]\nssl_enabled = True   # IMPORTANT: Set to True\n" +
    "linuxpath = /app/200k.txt      ; path\nkeep = w#1.txt;x\ntab = v\t#c\n",
  sections: "[DEFAULT]\nport = 1\nhost = a\n[server]\nport = 2\n[a] b]\nx = y\n[c] trailing\nz=1\n",
  interpolation: "[DEFAULT]\ndir = /srv\nlinuxpath = %(DIR)s/w.txt\npct = 100%%\n" +
    "[search]\nfile = %(dir)s/%(name)s\nname = s.txt\n",
};

/** Each section as Python's configparser reads it: `DEFAULT` and every section with defaults in. */
type Sections = Record<string, Record<string, string>>;

async function pythonParse(path: string, inline: boolean): Promise<Sections> {
  const script = [
    "import configparser, json, sys",
    `cp = configparser.ConfigParser(${inline ? 'inline_comment_prefixes=("#", ";")' : ""})`,
    // utf-8-sig: how a Python tool reads a file an editor saved with a BOM.
    "cp.read(sys.argv[1], encoding='utf-8-sig')",
    "out = {'DEFAULT': dict(cp['DEFAULT'])}",
    "out.update({s: dict(cp[s]) for s in cp.sections()})",
    "print(json.dumps(out))",
  ].join("\n");
  const r = await new Deno.Command("python3", { args: ["-c", script, path], stderr: "piped" })
    .output();
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
  return JSON.parse(new TextDecoder().decode(r.stdout));
}

/** Ours in the same shape: each section's own keys over `[DEFAULT]`'s. */
function sections(data: ConfigData): Sections {
  const defaults = (data.DEFAULT ?? {}) as Record<string, string>;
  const out: Sections = { DEFAULT: defaults };
  for (const [name, v] of Object.entries(data)) {
    if (name !== "DEFAULT" && typeof v === "object") {
      out[name] = { ...defaults, ...(v as Record<string, string>) };
    }
  }
  return out;
}

for (const inline of [false, true]) {
  Deno.test(`parseConfigParser() reads tricky files as python3's configparser does (inline comments ${inline ? "on" : "off"})`, async (t) => {
    const dir = await Deno.makeTempDir();
    try {
      for (const [name, text] of Object.entries(TRICKY)) {
        await t.step(name, async () => {
          const path = join(dir, `${name}.ini`);
          await Deno.writeTextFile(path, text);
          const ours = sections(
            await loadConfigFile(path, "configparser", {
              configparser: { inlineComments: inline },
            }),
          );
          assert.deepEqual(ours, await pythonParse(path, inline));
        });
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("parseConfigParser() keeps # and ; in values that npm:ini cut off", () => {
  const data = parseConfigParser("[DEFAULT]\nlinuxpath=w#1.txt\nb=/x/w;2.txt\nc: /x/words.txt\n", {
    inlineComments: true,
  });
  assert.deepEqual(data.DEFAULT, { linuxpath: "w#1.txt", b: "/x/w;2.txt", c: "/x/words.txt" });
});

Deno.test("parseConfigParser() is lenient where configparser refuses, but not on an unclosed section", async () => {
  // configparser: MissingSectionHeaderError, ParsingError (bare line), DuplicateOptionError.
  assert.deepEqual(parseConfigParser("a=1\nodd line\na=2\n[s]\nx=1\n[s]\ny=2\n"), {
    a: "2",
    s: { x: "1", y: "2" },
  });
  const dir = await Deno.makeTempDir();
  try {
    for (
      const [text, line, what] of [[
        "[DEFAULT]\nport=1\n[search\nport=2\n",
        3,
        /unclosed section header/,
      ], [
        "# c\r\n[DEFAULT]\r\n = x\r\n",
        3,
        /a value without a key: "= x"/,
      ]] as const
    ) {
      const path = join(dir, "bad.ini");
      await Deno.writeTextFile(path, text);
      await assert.rejects(loadConfigFile(path, "configparser"), (err: Error) => {
        assert.ok(err instanceof ConfigError);
        assert.match(
          err.message,
          new RegExp(`^Cannot parse config file ".*bad\\.ini": line ${line}: `),
        );
        assert.match(err.message, what);
        assert.match(err.message, /\(fix that line\)$/);
        return true;
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
