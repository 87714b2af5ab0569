"""Optional dependencies stay optional."""

import subprocess
import sys


def test_fitting_small_numpy_data_never_imports_dask_or_numba():
    # numba costs about half a second to import; small fits never need it.
    code = (
        "import sys, numpy as np\n"
        "import skprep, skprep.nn\n"
        "X = np.random.default_rng(0).normal(size=(50, 3))\n"
        "for est in (skprep.ZScoreScaler(), skprep.PCA(), skprep.Whitening(),\n"
        "            skprep.nn.BatchNormalizer(batch_size=10)):\n"
        "    est.fit(X).transform(X)\n"
        "roots = {m.split('.')[0] for m in sys.modules}\n"
        "loaded = sorted(roots & {'dask', 'distributed', 'numba'})\n"
        "print(loaded)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
