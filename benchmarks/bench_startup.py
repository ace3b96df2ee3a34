"""Where the start-up of ``letdown detect`` goes: imports, compiled loops, the work itself.

Run: ``python benchmarks/bench_startup.py [--runs 5]``

Each figure is the median wall time of fresh interpreter processes (so nothing
is cached in memory): importing numpy, pandas, numba and the core; importing
scipy.signal (what designing the Butterworth filters used to cost at every
start, now designed by our own bilinear transform); loading the cached compiled
loops: the first one alone (numba sets up its compiler's tables once, whichever
loop comes first; each further loop costs a few ms), then all of them
(``warm_up``, what ``live`` runs); a warm ``letdown detect`` of one 20-minute
recording (it loads only the loops its channels use); and the same with a cold
compile cache (the first run after an install), which prints one line saying
what it is preparing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _wall(code: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(code, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def _python(snippet: str) -> list[str]:
    return [sys.executable, "-c", snippet]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rec = Path(tmp) / "session.csv"
        subprocess.run(
            _python(
                "from letdown_detect.sources.simulate import SimConfig, simulate_session\n"
                "from letdown_detect.recording import write_recording\n"
                "sim = simulate_session(SimConfig(duration_s=1200, sample_rate_hz=20), seed=3)\n"
                f"write_recording(sim.recording, {str(rec)!r})"
            ),
            check=True,
        )
        detect = [sys.executable, "-m", "letdown_detect", "detect", str(rec)]
        _wall(detect)  # make sure the cache is warm
        rows = {
            "python alone": _python("pass"),
            "import numpy + pandas": _python("import numpy, pandas"),
            "import numba": _python("import numba"),
            "import scipy.signal (no longer at detect time)": _python("import scipy.signal"),
            "import letdown_detect.pipeline": _python("import letdown_detect.pipeline"),
            "... + first cached loop (numba's one-time set-up)": _python(
                "from letdown_detect.conditioning.filters import SosFilter\n"
                "SosFilter(0.5, 10.0).delay_s"
            ),
            "... + warm_up() (load compiled loops)": _python(
                "from letdown_detect.pipeline import warm_up; warm_up()"
            ),
            "letdown detect, 20 min recording, warm": detect,
        }
        print(f"\nStart-up, median of {args.runs} fresh processes (s)\n")
        for name, code in rows.items():
            times = [_wall(code) for _ in range(args.runs)]
            print(f"{name:50s} {statistics.median(times):6.2f}")
        cold = []
        for k in range(max(1, args.runs // 2)):
            env = {**os.environ, "NUMBA_CACHE_DIR": str(Path(tmp) / f"cold{k}")}
            cold.append(_wall(detect, env))
        print(
            f"{'letdown detect, cold compile cache (first run)':50s} {statistics.median(cold):6.2f}"
        )


if __name__ == "__main__":
    main()
