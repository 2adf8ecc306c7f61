"""Why `voxguard calibrate` warns on separable dev scores: a synthetic check (numpy, seconds).

Dev scores that separate the classes perfectly leave the fitted scale bounded only by the ridge,
so the LLRs are overconfident and Cllr on overlapping eval scores gets worse than the raw scores;
a larger ``--l2`` tempers the fit. Run: ``python benchmarks/calibrate_separable.py``.
"""

import numpy as np

from voxguard.metrics import cllr
from voxguard.scoring.calibration import AffineCalibrator

rng = np.random.default_rng(0)
db, ds = rng.normal(3, 0.6, 40), rng.normal(-3, 0.6, 40)
assert db.min() > ds.max()
eb, es = rng.normal(1.0, 1.2, 2000), rng.normal(-1.0, 1.2, 2000)
s = np.r_[db, ds]
y = np.r_[np.ones(40), np.zeros(40)]
print(f"eval Cllr raw {cllr(eb, es):.3f}")
for l2 in (1e-6, 1e-2, 1e-1):
    c = AffineCalibrator().fit(s, y, l2=l2)
    print(f"l2={l2:g} scale={c.scale:.3f} eval Cllr {cllr(c.transform(eb), c.transform(es)):.3f}")
