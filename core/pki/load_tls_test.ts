import assert from "node:assert/strict";
import { initPki } from "./init.ts";
import { issueClient } from "./issue.ts";
import { loadClientTls, loadServerTls } from "./load_tls.ts";

Deno.test("loadServerTls() returns the server material with the allow-list split per certificate", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const p = await initPki(dir);
    const other = await initPki(`${dir}/other`);
    await Deno.writeTextFile(
      p.allowList,
      (await Deno.readTextFile(p.allowList)) + (await Deno.readTextFile(other.ca)),
    );
    const tls = await loadServerTls({
      cert: p.serverCert,
      key: p.serverKey,
      clientCerts: p.allowList,
    });
    assert.equal(tls.cert, await Deno.readTextFile(p.serverCert));
    assert.equal(tls.key, await Deno.readTextFile(p.serverKey));
    assert.equal(tls.clientCa?.length, 2);
    assert.equal(tls.clientCa?.[0], await Deno.readTextFile(p.ca));
    const bare = await loadServerTls({ cert: p.serverCert, key: p.serverKey });
    assert.equal(bare.clientCa, undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadServerTls() names a missing file and how to create it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const p = await initPki(dir);
    await assert.rejects(
      loadServerTls({ cert: p.serverCert, key: p.serverKey, clientCerts: `${dir}/nope.pem` }),
      {
        message:
          `Cannot read client allow-list "${dir}/nope.pem": file not found (run "sockkit certs init")`,
      },
    );
    await assert.rejects(loadServerTls({ cert: `${dir}/x.pem`, key: p.serverKey }), {
      message:
        `Cannot read server certificate "${dir}/x.pem": file not found (run "sockkit certs init")`,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadServerTls() and loadClientTls() refuse a key that belongs to another certificate", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const p = await initPki(dir);
    await assert.rejects(loadServerTls({ cert: p.serverCert, key: p.caKey }), {
      message:
        `Private key "${p.caKey}" does not belong to certificate "${p.serverCert}": use the key made with that certificate`,
    });
    const a = await issueClient(dir, "alice");
    const b = await issueClient(dir, "bob");
    await assert.rejects(
      loadClientTls({ cert: a.cert, key: b.key }),
      /Private key ".*bob\.key" does not belong to certificate ".*alice\.pem"/,
    );
    await assert.rejects(
      loadServerTls({ cert: p.serverCert, key: p.ca }),
      /Cannot use private key ".*ca\.pem": not a PEM private key/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadClientTls() loads CA, certificate and key, and wants cert and key together", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const p = await initPki(dir);
    const a = await issueClient(dir, "alice");
    const tls = await loadClientTls({ ca: p.ca, ...a });
    assert.deepEqual(tls.ca, [await Deno.readTextFile(p.ca)]);
    assert.equal(tls.cert, await Deno.readTextFile(a.cert));
    assert.equal(tls.key, await Deno.readTextFile(a.key));
    assert.deepEqual(await loadClientTls({}), {});
    await assert.rejects(loadClientTls({ cert: a.cert }), {
      name: "TypeError",
      message: `Client certificate "${a.cert}" given without its key: pass both or neither`,
    });
    await assert.rejects(
      loadClientTls({ cert: `${dir}/clients/zed.pem`, key: a.key }),
      /^ConfigError: Cannot read client certificate ".*zed\.pem": file not found \(run "sockkit certs issue NAME"\)$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
