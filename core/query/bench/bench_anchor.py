"""The anchor of `sockkit query bench`: a plain Python `socketserver` UDP
server (standard library only) doing the same dictionary lookup as the
bench's handler, over the same generated CSV, with the same wire format
(a 4-byte header "0" "p" "t" "0", then the query; the reply echoes the
header, then the row as compact JSON or "NOT FOUND").

Usage: python3 bench_anchor.py CSV_PATH [HOST]
Binds a free UDP port on HOST (default 127.0.0.1), prints "PORT <n>" on
stdout once it answers, and serves until stdin closes or SIGTERM.
"""

import csv
import json
import signal
import socketserver
import sys
import threading


def load(path):
    with open(path, newline="", encoding="utf-8") as f:
        return {row["id"]: row for row in csv.DictReader(f)}


def main():
    if len(sys.argv) < 2:
        sys.stderr.write("usage: bench_anchor.py CSV_PATH [HOST]\n")
        return 2
    rows = load(sys.argv[1])
    host = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"

    class Lookup(socketserver.BaseRequestHandler):
        def handle(self):
            data, sock = self.request
            header = data[:4]
            if len(data) < 4 or header[0:1] != b"0" or header[3:4] != b"0":
                sock.sendto(b"0pt0ERROR: Malformed header", self.client_address)
                return
            row = rows.get(data[4:].decode("utf-8", "replace"))
            text = "NOT FOUND" if row is None else json.dumps(row, separators=(",", ":"))
            sock.sendto(header + text.encode("utf-8"), self.client_address)

    server = socketserver.UDPServer((host, 0), Lookup)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())

    def watch_stdin():
        sys.stdin.read()
        server.shutdown()

    threading.Thread(target=watch_stdin, daemon=True).start()
    sys.stdout.write("PORT %d\n" % server.server_address[1])
    sys.stdout.flush()
    server.serve_forever()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
