"""What the Python check scripts share: one "ok STEP" line per check, and polling with a time limit."""
import asyncio
import sys


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
