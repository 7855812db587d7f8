"""What the Python check scripts share: one "ok STEP" line per check, and polling with a time limit."""
import asyncio
import socket
import sys
import time


def check(step, cond, why):
    """Prints "ok STEP", or "FAIL STEP: why" and exits 1."""
    if not cond:
        print(f"FAIL {step}: {why}", flush=True)
        sys.exit(1)
    print(f"ok {step}", flush=True)


async def wait_for(cond, what=None, timeout=20.0):
    """Polls ``cond()`` until it is true (True) or ``timeout`` seconds passed (False); ``what`` names it."""
    end = asyncio.get_running_loop().time() + timeout
    while not cond():
        if asyncio.get_running_loop().time() > end:
            return False
        await asyncio.sleep(0.02)
    return True


def wait_for_udp_reply(host, port, query, timeout=30.0):
    """Sends ``query`` to ``host``:``port`` over UDP until a reply comes; exits 1 after ``timeout`` seconds."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as ping:
        ping.settimeout(0.5)
        deadline = time.monotonic() + timeout
        while True:
            try:
                ping.sendto(query, (host, port))
                ping.recvfrom(65535)
                return
            except (socket.timeout, ConnectionRefusedError):
                if time.monotonic() > deadline:
                    sys.exit(f"{sys.argv[0]}: no reply from {host}:{port} within {timeout:g} s")
