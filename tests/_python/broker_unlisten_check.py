"""Drives sockkit_broker.ConnectorAPI.stop_waiting_for_messages against two running connectors.

Usage: broker_unlisten_check.py SERVER_DIR ALICE_DIR
First the aioconnectors example's own pattern: loop.run_forever(), then, once the loop stopped,
stop_waiting_for_messages(message_type='any') as a plain call. Then the call inside a running loop.
Prints one "ok STEP" line per behaviour checked; exits 1 with "FAIL STEP: why" on the first failure.
"""
import asyncio
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "clients", "python"))
from sockkit_broker import ConnectorAPI  # noqa: E402
from _check import check, wait_for  # noqa: E402

server_dir, alice_dir = sys.argv[1:3]


async def queued(api, message_type):
    report = await api.peek_queues()
    return next((t["messages"] for t in report["types"] if t["type"] == message_type), 0)


async def take(message_type, count, flags=None):
    """A fresh listener's first ``count`` messages of the type (data decoded); ``flags`` (a list) gets
    each one's ``transport_json.get("redelivered")``."""
    api = ConnectorAPI(state_dir=server_dir)
    got = []

    async def cb(transport, data, binary):
        got.append(data.decode())
        if flags is not None:
            flags.append(transport.get("redelivered"))

    task = asyncio.create_task(api.start_waiting_for_messages(message_type=message_type, message_received_cb=cb))
    await wait_for(lambda: len(got) >= count)
    await asyncio.sleep(0.2)
    api.stop_waiting_for_messages(message_type)
    await asyncio.gather(task, return_exceptions=True)
    await api.close()
    return got


def seed_pattern():
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    connector_api = ConnectorAPI(state_dir=server_dir)
    alice = ConnectorAPI(state_dir=alice_dir)
    got = []

    first_flags = []

    async def message_received_cb(transport_json, data, binary):
        got.append(data.decode())
        first_flags.append("redelivered" in transport_json)
        if len(got) == 2:
            loop.stop()
    loop.create_task(connector_api.start_waiting_for_messages(message_type='any',
                                                              message_received_cb=message_received_cb))

    async def send_messages():
        for i in range(2):
            await alice.send_message(data=f"CLIENT MESSAGE {i}", data_is_json=False, message_type='any',
                                     wait_for_ack=True)
    loop.create_task(send_messages())
    try:
        loop.run_forever()
    except BaseException:
        print('Connector stopped !')
    try:
        connector_api.stop_waiting_for_messages(message_type='any')
        raised = None
    except Exception as e:  # noqa: BLE001 - the check is that nothing is raised
        raised = e
    check("stop_waiting_for_messages after the loop stopped raises nothing", raised is None, repr(raised))
    check("the callback got both messages before", got == ["CLIENT MESSAGE 0", "CLIENT MESSAGE 1"], repr(got))
    check("first deliveries carry no redelivered", first_flags == [False, False], repr(first_flags))

    async def after():
        await connector_api.sync()  # the connector handled the unlisten sent when the loop ran again
        await alice.send_message(data="CLIENT MESSAGE 2", data_is_json=False, message_type='any',
                                 wait_for_ack=True)
        await asyncio.sleep(0.3)
        check("a stopped type reaches no callback", len(got) == 2, repr(got))
        check("a message of a stopped type stays queued", await queued(connector_api, "any") == 1,
              await connector_api.peek_queues())
        flags = []
        check("the next listener gets it", await take("any", 1, flags) == ["CLIENT MESSAGE 2"], "")
        check("one never handed out is not redelivered", flags == [None], repr(flags))
        await alice.close()
        await connector_api.close()
    loop.run_until_complete(after())
    loop.close()


async def running_loop():
    api = ConnectorAPI(state_dir=server_dir)
    alice = ConnectorAPI(state_dir=alice_dir)
    got = []
    release = asyncio.Event()

    async def slow(transport, data, binary):
        got.append(data.decode())
        await release.wait()  # held on the first message while the rest wait behind it

    for i in range(5):
        await alice.send_message(message_type="batch", data=f"b{i}", data_is_json=False, wait_for_ack=True)
    task = asyncio.create_task(api.start_waiting_for_messages(message_type="batch", message_received_cb=slow))
    await wait_for(lambda: len(got) == 1)
    await asyncio.sleep(0.3)  # b1..b4 reach this client too, unhandled
    api.stop_waiting_for_messages(message_type="batch")
    await api.sync()
    release.set()
    await asyncio.wait_for(task, 5)
    check("the stopped waiter returns", task.done() and task.exception() is None, repr(task))
    check("no callback runs after the stop", got == ["b0"], repr(got))
    await alice.send_message(message_type="batch", data="b5", data_is_json=False, wait_for_ack=True)
    await asyncio.sleep(0.3)
    check("a later message of the type reaches no callback", got == ["b0"], repr(got))
    check("what no callback finished went back to the queue, with the later one",
          await queued(api, "batch") == 6, json.dumps(await api.peek_queues()))
    flags = []
    check("the next listener gets them all, in order",
          await take("batch", 6, flags) == ["b0", "b1", "b2", "b3", "b4", "b5"], "")
    check("those handed out before are redelivered, the later one is not",
          flags == [True, True, True, True, True, None], repr(flags))

    # None stops every type; an unknown type is only logged
    other = []

    async def keep(transport, data, binary):
        other.append(data.decode())
    t1 = asyncio.create_task(api.start_waiting_for_messages(message_type="x1", message_received_cb=keep))
    t2 = asyncio.create_task(api.start_waiting_for_messages(message_type="x2", message_received_cb=keep))
    await api.sync()
    api.stop_waiting_for_messages("never-waited-for")
    api.stop_waiting_for_messages()
    await asyncio.wait_for(asyncio.gather(t1, t2), 5)
    await api.sync()
    await alice.send_message(message_type="x1", data="late", data_is_json=False, wait_for_ack=True)
    await asyncio.sleep(0.3)
    check("stop_waiting_for_messages() stops every type", other == [] and await queued(api, "x1") == 1,
          repr(other))
    check("the next listener gets the late one", await take("x1", 1) == ["late"], "")
    await alice.close()
    await api.close()


seed_pattern()
asyncio.run(running_loop())
print("done", flush=True)
