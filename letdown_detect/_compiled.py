"""The one decorator for the streaming core's compiled loops.

Every stage is a plain sequential loop over its samples, with its state in small
arrays it updates in place. Compiled by numba, the same loop serves a whole
file (tens of millions of samples/s) and a live sensor sending one sample at a
time (about a microsecond per call), and output cannot depend on the chunking:
chunks only decide where the loop pauses. ``NUMBA_DISABLE_JIT=1`` runs the
loops as plain Python (slow, but steppable in a debugger).
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import numba
import numpy as np
import platformdirs


def _cache_dir() -> str:
    """Where compiled loops are cached: named by a hash of the core's sources.

    numba checks only the timestamp of the file a cached loop is defined in, not
    of the helpers it calls from other files; a directory per version of the
    sources (this file's too: the decorator's options change the compiled code)
    means an edited helper can never leave a stale loop behind.
    """
    package = Path(__file__).parent
    digest = hashlib.sha256(numba.__version__.encode())
    sources = [package / "_compiled.py", *package.glob("conditioning/*.py")]
    for path in sorted([*sources, *package.glob("detection/*.py")]):
        digest.update(path.read_bytes())
    return str(Path(platformdirs.user_cache_dir("letdown")) / f"jit-{digest.hexdigest()[:16]}")


if not os.environ.get("NUMBA_CACHE_DIR"):  # a user's own choice wins
    numba.config.CACHE_DIR = _cache_dir()


def _skip_blas_probe() -> None:
    """Keep numba from importing scipy.linalg when it loads the first compiled loop.

    numba's array support asks whether a BLAS is there (for the inner products of
    ``np.cov`` and kin) by importing ``scipy.linalg``, which clones numpy's namespace
    and so imports ``numpy.f2py`` and ``numpy.testing``: 0.15-0.25 s of every start-up,
    for routines no loop here calls. The probe is answered "no BLAS" (those inner
    products then use numba's own loop); ``np.dot`` and ``np.linalg`` in compiled code
    still look for scipy, and find it, when they are compiled.
    """
    if "numba.np.arraymath" in sys.modules or "scipy.linalg" in sys.modules:
        return  # probed already, or nothing left to save
    from numba.np import linalg

    probe = linalg.ensure_blas

    def no_blas() -> None:
        raise ImportError("no BLAS probe at start-up")

    linalg.ensure_blas = no_blas
    try:
        from numba.np import arraymath
    finally:
        linalg.ensure_blas = probe
    arraymath.ensure_blas = probe


_skip_blas_probe()

#: Compiled at the first call and cached on disk, so only the first run after an edit
#: or install pays for compiling (a few seconds). ``error_model`` "numpy": a division
#: by zero gives inf/NaN as in numpy, never an exception.
kernel = numba.njit(cache=True, nogil=True, error_model="numpy")
#: A helper a kernel calls once per sample: inlined into its caller at numba's level (a
#: call that passes arrays costs reference counting on each, every sample). The
#: resampler's helpers inlined run 1.1-2x faster and compile in 1.7 s instead of 2.4 s.
inline_kernel = numba.njit(cache=True, nogil=True, error_model="numpy", inline="always")


def loop_input(x: np.ndarray, dtype: type = np.float64) -> np.ndarray:
    """``x`` as a writable C-contiguous array of ``dtype``, copied only if it is not one.

    numba compiles (and at start-up loads) a loop once per argument type, and a
    read-only array (a file's column) or a strided one (one column of several) is a
    type of its own: inputs passed through here keep every loop at one signature.
    """
    x = np.ascontiguousarray(x, dtype)
    return x if x.flags.writeable else x.copy()


def cache_is_warm() -> bool:
    """Whether the compiled loops of this version of the core are cached on disk."""
    if os.environ.get("NUMBA_DISABLE_JIT") == "1":
        return True  # nothing to compile
    folder = Path(numba.config.CACHE_DIR or "")
    return folder.is_dir() and any(folder.rglob("*.nbi"))


#: Said on stderr before a cold cache is compiled (the first run after an install or edit).
PREPARING = (
    "letdown: preparing the detector's compiled loops (first run after an install "
    "or update: a few seconds; later runs start in well under a second)"
)
