"""Drives sockkit_broker.ConnectorAPI against two running connectors (server and client "alice").

Usage: broker_client_check.py SERVER_DIR ALICE_DIR FILES_DIR WORK_DIR
Prints one "ok STEP" line per behaviour checked; exits 1 with "FAIL STEP: why" on the first failure.
"""
import asyncio
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "clients", "python"))
from sockkit_broker import BrokerError, ConnectorAPI  # noqa: E402
from _check import check, wait_for  # noqa: E402

server_dir, alice_dir, files_dir, work_dir = sys.argv[1:5]


async def main():
    server = ConnectorAPI(state_dir=server_dir)
    alice = ConnectorAPI(state_dir=alice_dir)
    got = []

    async def on_any(transport, data, binary):
        got.append((transport, data, binary))

    listener = asyncio.create_task(server.start_waiting_for_messages(message_type="any", message_received_cb=on_any))

    async def on_echo(transport, data, binary):
        await server.answer(transport, {"echoed": data.decode()}, binary=binary)

    echo = asyncio.create_task(server.start_waiting_for_messages(message_type="echo", message_received_cb=on_echo))
    notes = []

    async def on_files(transport, data, binary):
        notes.append((transport, data))

    files = asyncio.create_task(server.start_waiting_for_messages(message_type="files", message_received_cb=on_files))
    await server.sync()  # the listens are registered

    # send: JSON data, then text with a binary part; destination_id=None means the server
    ok1 = await alice.send_message(message_type="any", data={"application message": "CLIENT MESSAGE 1"})
    ok2 = await alice.send_message(message_type="any", data="plain text", data_is_json=False, binary=b"\x00\xffbin")
    check("send returns True", ok1 is True and ok2 is True, f"got {ok1!r}, {ok2!r}")
    arrived = await wait_for(lambda: len(got) >= 2, "two messages")
    check("listen receives both messages", arrived, f"got {len(got)} messages")
    t0, d0, _ = got[0]
    check("transport_json names the source", t0["source_id"] == "alice" and t0["message_type"] == "any",
          f"transport_json {t0}")
    check("JSON data arrives as JSON text", d0 == b'{"application message": "CLIENT MESSAGE 1"}', f"data {d0!r}")
    t1, d1, b1 = got[1]
    check("text data and binary part arrive intact", d1 == b"plain text" and b1 == b"\x00\xffbin",
          f"data {d1!r} binary {b1!r}")

    # wait_for_ack: True once the server connector has it
    acked = await alice.send_message(message_type="any", data={"n": 3}, wait_for_ack=True)
    check("wait_for_ack returns True", acked is True, f"got {acked!r}")
    check("the acknowledged message arrived", await wait_for(lambda: len(got) >= 3, "third"), f"{len(got)}")

    # request/response, both directions of the same call
    transport, data, binary = await alice.send_message(message_type="echo", data="ping", data_is_json=False,
                                                       binary=b"\x01\x02", await_response=True)
    check("await_response returns the answer triplet",
          data == b'{"echoed": "ping"}' and binary == b"\x01\x02" and transport["source_id"] == "server",
          f"{transport} {data!r} {binary!r}")
    try:
        await alice.send_message(message_type="nobody-answers", data="hello?", await_response=True,
                                 await_response_timeout=0.3)
        check("an unanswered request raises", False, "no exception")
    except BrokerError as e:
        check("an unanswered request raises", "timed out after 300 ms" in str(e), str(e))

    # files: stored where the receiver maps the type; delete removes the source after it was stored
    src = os.path.join(work_dir, "report.txt")
    with open(src, "w") as f:
        f.write("line\n" * 10000)
    sent = await alice.send_message(message_type="any", with_file={"src_path": src, "dst_type": "files",
                                                                  "dst_name": "renamed.txt", "delete": True})
    stored = os.path.join(files_dir, "renamed.txt")
    check("with_file stores the file at the receiver under dst_name", sent is True and os.path.exists(stored)
          and open(stored).read() == "line\n" * 10000, f"sent={sent!r} exists={os.path.exists(stored)}")
    check("with_file delete removes the source once stored", not os.path.exists(src), "source still there")
    check("a listener of the file's type hears of it", await wait_for(lambda: any(
        b"renamed.txt" in d for _, d in notes), "file note"), f"notes {notes!r}")

    # a refused send returns False and says why
    bad = await alice.send_message(message_type="any", with_file={"src_path": src + ".missing", "dst_type": "files"})
    check("a failed send returns False with last_error", bad is False and alice.last_error is not None,
          f"got {bad!r}, last_error {alice.last_error!r}")

    # a message leaves the connector's queue only once a callback handled it
    for i in range(10):
        await alice.send_message(message_type="backlog", data={"i": i}, wait_for_ack=True)
    first = ConnectorAPI(state_dir=server_dir)
    handled = []
    stuck = asyncio.Event()

    async def slow(transport, data, binary):
        if len(handled) == 3:
            await stuck.wait()  # never set: this listener goes away mid-message
        handled.append(data)

    t1 = asyncio.create_task(first.start_waiting_for_messages(message_type="backlog", message_received_cb=slow))
    await wait_for(lambda: len(handled) == 3, "three handled")
    await asyncio.sleep(0.3)
    t1.cancel()
    await asyncio.gather(t1, return_exceptions=True)
    await first.close()
    second = ConnectorAPI(state_dir=server_dir)
    rest = []

    async def keep(transport, data, binary):
        rest.append(data)

    t2 = asyncio.create_task(second.start_waiting_for_messages(message_type="backlog", message_received_cb=keep))
    await wait_for(lambda: len(rest) >= 7, "the rest of the backlog")
    await asyncio.sleep(0.3)
    check("a listener that stops mid-backlog leaves the unhandled messages queued",
          [json.loads(d)["i"] for d in handled] == [0, 1, 2] and [json.loads(d)["i"] for d in rest] == list(range(3, 10)),
          f"first got {handled!r}, second got {rest!r}")
    t2.cancel()
    await asyncio.gather(t2, return_exceptions=True)
    await second.close()

    # publish/subscribe: alice subscribes at the server; the server's app publishes with a tag
    pubs = []

    async def on_topic(transport, data, binary):
        pubs.append((transport, data))

    await alice.subscribe(["pytopic"])
    topic = asyncio.create_task(alice.start_waiting_for_messages(message_type="pytopic", message_received_cb=on_topic))
    published = await server.publish_message(message_type="pytopic", data={"v": 1}, wait_for_ack=True, tag="t9")
    check("publish_message with wait_for_ack returns True", published is True, f"got {published!r}")
    check("a subscriber gets the published message with its tag",
          await wait_for(lambda: len(pubs) >= 1, "publication") and pubs[0][0].get("tag") == "t9"
          and pubs[0][1] == b'{"v": 1}', f"got {pubs!r}")
    tagged = await alice.send_message(message_type="any", data="tagged", data_is_json=False, tag="t1",
                                      wait_for_ack=True)
    check("send_message passes tag through", tagged is True and await wait_for(
        lambda: any(t.get("tag") == "t1" for t, _, _ in got), "tagged message"), f"got {got[-1]!r}")
    try:
        await server.subscribe(["pytopic"])
        check("subscribe on the server raises", False, "no exception")
    except BrokerError as e:
        check("subscribe on the server raises", "does not subscribe" in str(e), str(e))
    topic.cancel()
    await asyncio.gather(topic, return_exceptions=True)

    peers = await server.show_connected_peers()
    check("show_connected_peers lists alice", "alice" in str(peers), f"peers {peers!r}")

    for task in (listener, echo, files):
        task.cancel()
    await asyncio.gather(listener, echo, files, return_exceptions=True)
    await alice.close()
    await server.close()
    print("done", flush=True)


asyncio.run(main())
