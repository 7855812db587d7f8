"""An ingest client that sends objects over TLS, then shuts down its TCP
write side (shutdown(SHUT_WR), no TLS close_notify) and prints every line
the server sends until the server closes.

Usage: half_close_client.py HOST PORT CA CERT KEY COUNT
"""
import socket
import ssl
import sys

host, port, ca, cert, key, count = sys.argv[1:7]
ctx = ssl.create_default_context(cafile=ca)
ctx.load_cert_chain(cert, key)
raw = socket.create_connection((host, int(port)))
raw.settimeout(30)
incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
tls = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")


def send_pending():
    data = outgoing.read()
    if data:
        raw.sendall(data)


while True:
    try:
        tls.do_handshake()
        break
    except ssl.SSLWantReadError:
        send_pending()
        chunk = raw.recv(65536)
        if not chunk:
            sys.exit("server closed during the handshake")
        incoming.write(chunk)
send_pending()
tls.write(b"".join(b'{"fin%d":"v"}' % i for i in range(int(count))))
send_pending()
# TCP only: the TLS layer never says it is done writing.
raw.shutdown(socket.SHUT_WR)
text = b""
while True:
    chunk = raw.recv(65536)
    if not chunk:
        break
    incoming.write(chunk)
    while True:
        try:
            got = tls.read(65536)
        except (ssl.SSLWantReadError, ssl.SSLZeroReturnError):
            break
        if not got:
            break
        text += got
sys.stdout.write(text.decode())
