import assert from "node:assert/strict";
import { fromAioconnectorsConfig } from "./aio_config.ts";
import { ConfigError } from "../config/mod.ts";

/** The server example of aioconnectors' README, as its users have it. */
const SEED_SERVER = {
  certificates_directory_path: null,
  client_bind_ip: null,
  client_name: null,
  connector_files_dirpath: "/tmp/aioconnectors",
  debug_msg_counts: true,
  default_logger_dirpath: "/tmp/aioconnectors",
  default_logger_log_level: "INFO",
  disk_persistence_recv: true,
  disk_persistence_send: ["any"],
  file_type2dirpath: {},
  is_server: true,
  max_size_persistence_path: 1000000000,
  recv_message_types: ["any"],
  send_message_types: ["any"],
  server_sockaddr: ["127.0.0.1", 10673],
  silent: true,
  ssl_allow_all: false,
  uds_path_receive_preserve_socket: true,
  uds_path_send_preserve_socket: true,
  use_ssl: true,
};

Deno.test("fromAioconnectorsConfig() translates the README's server config with no warning", () => {
  const { data, warning } = fromAioconnectorsConfig(SEED_SERVER, "aio.json", "server");
  assert.deepEqual(data, {
    broker: {
      host: "127.0.0.1",
      port: 10673,
      dir: "/tmp/aioconnectors",
      persist_max: 1000000000,
      file_dirs: [],
    },
  });
  assert.equal(warning, undefined);
});

Deno.test("fromAioconnectorsConfig() gives a client its name and server address", () => {
  const { data } = fromAioconnectorsConfig(
    {
      is_server: false,
      client_name: "client1",
      server_sockaddr: ["::1", 10673],
      file_type2dirpath: { any: "/srv/in" },
    },
    "c.json",
    "client",
  );
  assert.deepEqual(data, {
    broker: { name: "client1", server: "[::1]:10673", file_dirs: ["any=/srv/in"] },
  });
});

Deno.test("fromAioconnectorsConfig() takes max_size_file_upload_recv as the received file cap and says why max_size_file_upload_send has none", () => {
  const { data, warning } = fromAioconnectorsConfig(
    { is_server: true, max_size_file_upload_recv: 8589930194 },
    "aio.json",
    "server",
  );
  assert.deepEqual(data, { broker: { max_file_size: 8589930194 } });
  assert.equal(warning, undefined);
  const send = fromAioconnectorsConfig({ max_size_file_upload_send: 1024 }, "aio.json", "client");
  assert.match(
    send.warning!,
    /max_size_file_upload_send \(a sender has no cap of its own: the receiver's --max-file-size/,
  );
});

Deno.test("fromAioconnectorsConfig() names every key without an equivalent in one warning", () => {
  const { warning } = fromAioconnectorsConfig(
    {
      is_server: true,
      recv_message_types: ["order", "event"],
      use_ssl: false,
      disk_persistence_send: false,
      proxy: { enabled: true },
    },
    "aio.json",
    "server",
  );
  assert.match(warning ?? "", /^aioconnectors config "aio\.json": ignored keys/);
  for (
    const key of ["recv_message_types", "use_ssl=false", "disk_persistence_send=false", "proxy"]
  ) {
    assert.ok(warning?.includes(key), `${key} missing from: ${warning}`);
  }
});

Deno.test("fromAioconnectorsConfig() refuses the wrong role and malformed values, naming the fix", async (t) => {
  await t.step("is_server true for a client connector", () => {
    assert.throws(
      () => fromAioconnectorsConfig({ is_server: true }, "aio.json", "client"),
      (e: Error) =>
        e instanceof ConfigError &&
        e.message ===
          `Config file "aio.json" has "is_server": true: start it with "sockkit broker serve --config aio.json"`,
    );
  });
  await t.step("server_sockaddr not [HOST, PORT]", () => {
    assert.throws(
      () => fromAioconnectorsConfig({ server_sockaddr: "127.0.0.1:1" }, "aio.json", "server"),
      /key "server_sockaddr" in config file "aio\.json": expected \["HOST", PORT\]/,
    );
  });
  await t.step("not an object", () => {
    assert.throws(() => fromAioconnectorsConfig([1], "aio.json", "server"), ConfigError);
  });
});

Deno.test("fromAioconnectorsConfig() turns whitelisted/blacklisted clients into the server's allow and deny lists", () => {
  const { data, warning } = fromAioconnectorsConfig(
    {
      is_server: true,
      whitelisted_clients_id: ["client1"],
      whitelisted_clients_subnet: ["10.0.0.0/8"],
      blacklisted_clients_ip: ["10.0.0.66"],
    },
    "aio.json",
    "server",
  );
  assert.deepEqual(data, {
    broker: { allow: ["name:client1", "subnet:10.0.0.0/8"], deny: ["ip:10.0.0.66"] },
  });
  assert.equal(warning, undefined);
});

Deno.test("fromAioconnectorsConfig() turns send_message_types_priorities (smaller first) into priorities (higher first)", () => {
  const { data, warning } = fromAioconnectorsConfig(
    { send_message_types_priorities: { type_fast: 0, type_slow: 1, type_urgent: -2 } },
    "aio.json",
    "client",
  );
  assert.deepEqual(data, {
    broker: { priorities: ["type_fast=0", "type_slow=-1", "type_urgent=2"] },
  });
  assert.equal(warning, undefined);
  assert.deepEqual(
    fromAioconnectorsConfig({ send_message_types_priorities: {} }, "aio.json", "server").data,
    { broker: { priorities: [] } },
  );
  assert.throws(
    () =>
      fromAioconnectorsConfig(
        { send_message_types_priorities: { a: "high" } },
        "aio.json",
        "server",
      ),
    (err: Error) =>
      err instanceof ConfigError && /send_message_types_priorities.*"aio\.json"/.test(err.message),
  );
});
