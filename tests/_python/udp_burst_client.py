"""Sends bursts of UDP queries to a query server and prints, as JSON, how
many replies came back to each source address, and the server's
sockkit_query_udp_dropped_total{reason="source_rate"} (and "source_bytes").

Usage: udp_burst_client.py PORT METRICS_PORT COUNT SOURCE...
Waits (30 s at most) until the server answers on 127.0.0.1:PORT, then for
each SOURCE sends COUNT queries at once from it to SOURCE:PORT and counts
the replies that arrive until none has for a second. Also prints the
reply bytes each source got and the source_bytes drops.
"""
import json
import re
import socket
import sys
import urllib.request

from _check import wait_for_udp_reply

port, metrics_port, count = (int(a) for a in sys.argv[1:4])
sources = sys.argv[4:]
QUERY = b"0pt0people 1"

wait_for_udp_reply("127.0.0.1", port, QUERY)

replies = {}
reply_bytes = {}
for source in sources:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind((source, 0))
    for _ in range(count):
        s.sendto(QUERY, (source, port))
    s.settimeout(1.0)
    n = 0
    got = 0
    try:
        while True:
            data, _ = s.recvfrom(65535)
            n += 1
            got += len(data)
    except socket.timeout:
        pass
    s.close()
    replies[source] = n
    reply_bytes[source] = got

with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as r:
    text = r.read().decode()
def dropped(reason):
    m = re.search(
        r'^sockkit_query_udp_dropped_total\{[^}]*reason="' + reason + r'"[^}]*\} (\d+)', text, re.M
    )
    return int(m.group(1)) if m else 0
print(json.dumps({
    "replies": replies,
    "bytes": reply_bytes,
    "source_rate": dropped("source_rate"),
    "source_bytes": dropped("source_bytes"),
}))
