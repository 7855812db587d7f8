import assert from "node:assert/strict";
import { ClientFilter, parseFilterEntry } from "./client_filter.ts";

Deno.test("parseFilterEntry() reads name:, ip: and subnet: entries and guesses bare ones", () => {
  assert.deepEqual(parseFilterEntry("name:bob"), { kind: "name", value: "bob" });
  assert.deepEqual(parseFilterEntry("10.0.0.0/8"), { kind: "subnet", value: "10.0.0.0/8" });
  assert.deepEqual(parseFilterEntry("::1"), { kind: "ip", value: "::1" });
  assert.deepEqual(parseFilterEntry("carol"), { kind: "name", value: "carol" });
  assert.throws(() => parseFilterEntry("ip:300.1.1.1"), /Invalid IP address "300\.1\.1\.1"/);
  assert.throws(() => parseFilterEntry("subnet:10.0.0.0/33"), /Invalid subnet "10\.0\.0\.0\/33"/);
  assert.throws(() => parseFilterEntry("name:"), /Empty client filter entry/);
});

Deno.test("ClientFilter refuses denied names and addresses, and with an allow list everything not on it", async (t) => {
  await t.step("empty lists admit everyone", () => {
    assert.equal(new ClientFilter().check("alice", "127.0.0.1"), undefined);
  });
  await t.step("deny by name, IP and subnet (IPv4 seen as IPv6-mapped too)", () => {
    const f = new ClientFilter({ deny: ["name:mallory", "ip:192.0.2.7", "subnet:10.0.0.0/8"] });
    assert.match(f.check("mallory", "127.0.0.1")!, /deny list \(name\)/);
    assert.match(f.check("alice", "192.0.2.7")!, /deny list \(address\)/);
    assert.match(f.check("alice", "::ffff:10.9.9.9")!, /deny list \(address\)/);
    assert.equal(f.check("alice", "192.0.2.8"), undefined);
  });
  await t.step("an allow list admits only what it names; deny wins over allow", () => {
    const f = new ClientFilter({ allow: ["name:alice", "subnet:fd00::/8"], deny: ["name:bob"] });
    assert.equal(f.check("alice", "127.0.0.1"), undefined);
    assert.equal(f.check("carol", "fd12::5"), undefined);
    assert.match(f.check("carol", "127.0.0.1")!, /not on the server's allow list/);
    assert.match(f.check("bob", "fd12::5")!, /deny list/);
  });
  await t.step("add and remove change the lists at once", () => {
    const f = new ClientFilter();
    assert.equal(f.add("deny", "alice"), true);
    assert.equal(f.add("deny", "name:alice"), false);
    assert.match(f.check("alice", "127.0.0.1")!, /deny list/);
    assert.deepEqual(f.lists(), { allow: [], deny: ["name:alice"] });
    assert.equal(f.remove("deny", "alice"), true);
    assert.equal(f.remove("deny", "alice"), false);
    assert.equal(f.check("alice", "127.0.0.1"), undefined);
  });
});
