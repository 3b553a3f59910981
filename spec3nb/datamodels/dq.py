"""JWST data-quality bits (the values of ``stdatamodels.jwst.datamodels.dqflags``).

Kept here as plain integers so that the numeric layers need not import stdatamodels.
"""

from __future__ import annotations

DO_NOT_USE = 1 << 0
SATURATED = 1 << 1
JUMP_DET = 1 << 2
DROPOUT = 1 << 3
OUTLIER = 1 << 4
PERSISTENCE = 1 << 5
NON_SCIENCE = 1 << 9
DEAD = 1 << 10
HOT = 1 << 11
WARM = 1 << 12
LOW_QE = 1 << 13
FLUX_ESTIMATED = 1 << 28
OTHER_BAD_PIXEL = 1 << 30
REFERENCE_PIXEL = 1 << 31

#: Name -> value of every bit defined above.
FLAGS = {
    name: value for name, value in globals().items() if name.isupper() and isinstance(value, int)
}
