"""Instructions per delivery: a cost figure that does not move with the machine's speed.

``python -m bench.instructions [--small N] [--large N]`` signs one workload, then runs the
in-process driver (:mod:`bench.inprocess`: the real app, a fresh SQLite database, no
sockets) under valgrind's callgrind twice, on the first ``--small`` and on the first
``--large`` deliveries, and divides the difference of the two instruction totals by the
difference of the sizes. Start-up, imports, the warm-up and the database set-up cancel
out; what remains is the user-space work of one delivery in alertgate's own process:
the endpoint, parsing and verification, the engine and SQLite (not the kernel, not
uvicorn's HTTP parsing).

On a virtual machine whose speed drifts by tens of percent within minutes, rates and CPU
times cannot tell a 5 % change from noise; instruction counts repeat within about 1 % for
the same code and interpreter (``PYTHONHASHSEED`` is fixed; what varies is how many
deliveries the engine commits together, which follows the event loop's timing, so run nothing
else heavy meanwhile). Compare counts taken with the same interpreter only. Needs Debian's
``valgrind``; a run of the defaults takes about two minutes (callgrind runs code ~50 times
slower), both sizes in parallel.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import calibrate

_TOTALS = re.compile(rb"^(?:totals|summary):\s+(\d+)", re.MULTILINE)


def callgrind_total(out_file: Path) -> int:
    """The instruction total of a callgrind output file."""
    match = _TOTALS.search(out_file.read_bytes())
    if match is None:
        raise ValueError(f"{out_file}: no totals line (did callgrind finish?)")
    return int(match.group(1))


def per_delivery(small: tuple[int, int], large: tuple[int, int]) -> int:
    """Instructions per delivery from two (deliveries, instructions) runs."""
    (n_small, i_small), (n_large, i_large) = small, large
    if n_large <= n_small:
        raise ValueError("the large run must have more deliveries than the small one")
    return round((i_large - i_small) / (n_large - n_small))


# Work done per second rather than per delivery would grow ~50-fold under callgrind and
# with the machine's speed, so it is kept out of the count: the integration-key cache does
# not expire during the run (each reload is an ORM query) and no quiet-period sweeps run.
_STEADY_ENV = {"ALERTGATE_KEY_CACHE_SECONDS": "86400", "ALERTGATE_SWEEP_INTERVAL_SECONDS": "0"}


def _child(work: Path, messages: int) -> int:
    """Inside valgrind: replay the first ``messages`` signed bodies in-process."""
    from bench.inprocess import measure

    bodies, warm = pickle.loads((work / "bodies.pickle").read_bytes())
    result = measure(bodies[:messages], warm, work / "certs", extra_env=_STEADY_ENV)
    print(json.dumps(result))
    return 0 if result["statuses"] == {"200": messages} else 1


def _callgrind(work: Path, messages: int) -> subprocess.Popen[bytes]:
    out = work / f"callgrind.{messages}.out"
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    command = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out}",
        sys.executable,
        "-m",
        "bench.instructions",
        "--child",
        str(work),
        str(messages),
    ]
    # The child gets its own copy of the descriptor; the parent's is closed at once.
    with (work / f"callgrind.{messages}.log").open("wb") as log:
        return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


def count(small: int, large: int, seed: int = 11) -> dict[str, Any]:
    """Run both sizes under callgrind; the figures as a dict (see the module doc)."""
    if shutil.which("valgrind") is None:
        raise RuntimeError("valgrind is not installed (Debian: apt-get install valgrind)")
    from bench.inprocess import sign_workload

    work = Path(tempfile.mkdtemp(prefix="alertgate-instructions-"))
    try:
        bodies, warm = sign_workload(large, work / "certs", seed)
        (work / "bodies.pickle").write_bytes(pickle.dumps((bodies, warm)))
        procs = {n: _callgrind(work, n) for n in (small, large)}
        totals = {}
        for n, proc in procs.items():
            if proc.wait() != 0:
                log = (work / f"callgrind.{n}.log").read_text(errors="replace")
                raise RuntimeError(f"the run of {n} deliveries failed:\n{log[-3000:]}")
            totals[n] = callgrind_total(work / f"callgrind.{n}.out")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "python": calibrate.interpreter(),
        "deliveries": [small, large],
        "instructions": [totals[small], totals[large]],
        "instructions_per_delivery": per_delivery((small, totals[small]), (large, totals[large])),
    }


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["--child"]:
        return _child(Path(argv[1]), int(argv[2]))
    p = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__)
    p.add_argument("--small", type=int, default=300, help="deliveries of the first run")
    p.add_argument("--large", type=int, default=1300, help="deliveries of the second run")
    p.add_argument("--seed", type=int, default=11)
    args = p.parse_args(argv)
    try:
        result = count(args.small, args.large, args.seed)
    except (RuntimeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
