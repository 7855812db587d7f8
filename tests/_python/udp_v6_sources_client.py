"""Sends UDP queries to a query server from several IPv6 source addresses
at once and prints, as JSON, how many replies each source got.

Usage: udp_v6_sources_client.py SERVER PORT COUNT SOURCE...
Waits (30 s at most) until the server answers on [::1]:PORT, then sends
COUNT queries from each SOURCE (bound to it: the namespace routes the
sources' prefixes to lo), one from each in turn, so that every source
sends within the same second, and counts the replies that arrive until
none has for a second.
"""
import json
import select
import socket
import sys

from _check import wait_for_udp_reply

server, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
sources = sys.argv[4:]
QUERY = b"0pt0people 1"

wait_for_udp_reply("::1", port, QUERY)

socks = {}
for source in sources:
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind((source, 0))
    s.setblocking(False)
    socks[s] = source
for _ in range(count):
    for s in socks:
        s.sendto(QUERY, (server, port))
replies = {source: 0 for source in sources}
while True:
    ready, _, _ = select.select(list(socks), [], [], 1.0)
    if not ready:
        break
    for s in ready:
        while True:
            try:
                s.recvfrom(65535)
            except BlockingIOError:
                break
            replies[socks[s]] += 1
print(json.dumps(replies))
