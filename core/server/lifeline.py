"""Workers of ``alertgate serve --workers N`` never outlive their master.

uvicorn's master binds the listening socket and hands it to the worker processes it
spawns. If the master is killed with SIGKILL it cannot stop them: they keep serving on the
inherited socket, and a new ``alertgate serve`` on the same port fails with "address
already in use". So each worker follows its master:

* on Linux, ``prctl(PR_SET_PDEATHSIG, SIGTERM)`` asks the kernel to send the worker SIGTERM
  the moment its parent exits;
* everywhere, a thread checks the parent pid every :data:`POLL_SECONDS` (this also covers a
  master that died before the ``prctl`` call), sends SIGTERM, and forces an exit after
  :data:`GRACE_SECONDS` if a graceful shutdown hangs.

SIGTERM makes uvicorn shut down gracefully: it stops accepting, finishes the requests in
flight (each one's commit comes before its answer, so none is half done) and exits.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import threading
import time

MASTER_PID_ENV = "ALERTGATE_MASTER_PID"
"""Set by ``alertgate serve`` to its own pid before starting workers."""
POLL_SECONDS = 1.0
GRACE_SECONDS = 15.0
PR_SET_PDEATHSIG = 1

log = logging.getLogger("alertgate.server")


def follow_master() -> bool:
    """In a worker process: arrange to exit when the master is gone.

    :return: Whether this process is a worker of a master (and now follows it).
    """
    raw = os.environ.get(MASTER_PID_ENV, "")
    if not raw.isdigit() or int(raw) == os.getpid():
        return False
    master = int(raw)
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):  # no prctl: the watching thread still works
            pass
    threading.Thread(target=_watch, args=(master,), name="lifeline", daemon=True).start()
    return True


def _watch(master: int) -> None:
    while os.getppid() == master:
        time.sleep(POLL_SECONDS)
    log.warning("the serving master %s is gone; this worker stops", master)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(GRACE_SECONDS)
    os._exit(1)
