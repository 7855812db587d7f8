"""Opens one TCP connection to a server from each of several IPv6 source
addresses in turn and prints, as JSON, what each got.

Usage: v6_sources_client.py HOST PORT [--ask LINE] SOURCE...
Waits (30 s at most) until the server accepts on ::1 (loopback, which no
per-address cap counts), then connects from each SOURCE (bound to it: the
namespace routes the sources' prefixes to lo) and keeps every connection
open until all are done, so that each counts while the next one connects.
With --ask, each connection sends LINE and gets the reply line ("" when
the server closed it without one); without, it sends nothing and gets
"closed" when the server closes it at once (refused before any handshake)
or "held" when it is still open a second later.
"""
import json
import socket
import sys
import time

host, port = sys.argv[1], int(sys.argv[2])
args = sys.argv[3:]
ask = None
if args[:1] == ["--ask"]:
    ask, args = args[1].encode() + b"\n", args[2:]
sources = args


def reply_line(conn: socket.socket) -> str:
    conn.settimeout(10)
    try:
        conn.sendall(ask)
        reply = b""
        while not reply.endswith(b"\n"):
            got = conn.recv(256)
            if not got:
                break
            reply += got
        return reply.decode().strip()
    except (ConnectionResetError, BrokenPipeError):
        return ""


def held_or_closed(conn: socket.socket) -> str:
    conn.settimeout(1.0)
    try:
        return "closed" if conn.recv(1) == b"" else "data"
    except socket.timeout:
        return "held"
    except ConnectionResetError:
        return "closed"


deadline = time.monotonic() + 30
while True:
    try:
        socket.create_connection(("::1", port), timeout=1).close()
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit(f"{sys.argv[0]}: nothing accepts on [::1]:{port} within 30 s")
        time.sleep(0.1)

held = []
got = {}
for source in sources:
    conn = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    conn.bind((source, 0))
    conn.connect((host, port))
    held.append(conn)
    got[source] = reply_line(conn) if ask else held_or_closed(conn)
print(json.dumps(got))
