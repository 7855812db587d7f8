"""Connects to a search server from several IPv6 source addresses in turn
and prints, as JSON, what each connection got for the query "apple":
the reply line, or "" when the server closed it without one.

Usage: v6_sources_client.py HOST PORT SOURCE...
Waits (30 s at most) until the server answers from ::1 (loopback, which no
per-address cap counts), then opens one connection from each SOURCE (bound
to it: the namespace routes the sources' prefixes to lo) and keeps every
one open until all are done, so that each counts against the cap while the
next one connects.
"""
import json
import socket
import sys
import time

host, port = sys.argv[1], int(sys.argv[2])
sources = sys.argv[3:]


def ask(conn: socket.socket) -> str:
    conn.settimeout(10)
    try:
        conn.sendall(b"apple\n")
        reply = b""
        while not reply.endswith(b"\n"):
            got = conn.recv(256)
            if not got:
                break
            reply += got
        return reply.decode().strip()
    except (ConnectionResetError, BrokenPipeError):
        return ""


deadline = time.monotonic() + 30
while True:
    try:
        with socket.create_connection(("::1", port), timeout=1) as probe:
            if ask(probe):
                break
    except OSError:
        pass
    if time.monotonic() > deadline:
        sys.exit("the server did not answer on ::1 within 30 s")
    time.sleep(0.1)

held = []
got = {}
for source in sources:
    conn = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    conn.bind((source, 0))
    conn.connect((host, port))
    held.append(conn)
    got[source] = ask(conn)
print(json.dumps(got))
