"""The first fit of a fresh process, with each kernel setting.

``python benchmarks/bench_cold.py`` (``--quick`` for 100,000 rows) starts a new
Python process per setting and round, makes 1,000,000 x 100 standard normal
float64 data there, and times that process's first and second
``ZScoreScaler().fit``. The compiled kernels cost a fresh process the import of
numba and their first dispatch; ``SKPREP_KERNELS=auto`` (the default) loads
them only once the NumPy passes have cost the process ``LOAD_SECONDS``
(skprep/_fused.py), so its first fit should match ``numpy``'s, while
``numba`` pays the load up front. The rounds alternate the settings, and the
table gives medians and each setting's first fit as a ratio to ``numpy``'s.
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np

CHILD = """
import json, sys, time
import numpy as np
X = np.random.default_rng(0).standard_normal(({rows}, 100))
from skprep import ZScoreScaler
times = []
for _ in range(2):
    start = time.perf_counter()
    ZScoreScaler().fit(X)
    times.append(time.perf_counter() - start)
print(json.dumps(times))
"""

SETTINGS = ("numpy", "auto", "numba")


def _first_fits(rows, setting):
    env = {**os.environ, "SKPREP_KERNELS": setting}
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(rows=rows)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def run(quick=False, repeat=None):
    """Rows: first and second fit per setting, and the first fit against numpy's."""
    rows = 100_000 if quick else 1_000_000
    repeat = repeat or (3 if quick else 5)
    times = {s: [] for s in SETTINGS}
    for _ in range(repeat):
        for setting in SETTINGS:
            times[setting].append(_first_fits(rows, setting))
    first_numpy = np.median([t[0] for t in times["numpy"]])
    table = []
    for setting in SETTINGS:
        first = float(np.median([t[0] for t in times[setting]]))
        second = float(np.median([t[1] for t in times[setting]]))
        table.append(
            {
                "case": f"ZScoreScaler first fit, SKPREP_KERNELS={setting}",
                "first fit (s)": first,
                "second fit (s)": second,
                "first fit vs numpy's": first / first_numpy,
            }
        )
    return table


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    for row in run(quick=args.quick):
        ratio = row["first fit vs numpy's"]
        print(
            f"{row['case']:<50} first {row['first fit (s)'] * 1e3:7.1f} ms  "
            f"second {row['second fit (s)'] * 1e3:7.1f} ms  "
            f"first fit {ratio:.2f}x numpy's"
        )


if __name__ == "__main__":
    main()
