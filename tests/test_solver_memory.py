"""A solved HiGHS model is freed as soon as optmodel lets go of it.

highspy's user-interrupt callbacks (switched on so that Ctrl-C can cancel a solve) are
bound methods of the ``Highs`` object kept in its own callback lists: a reference
cycle.  With them left on, every solved model stayed in memory until Python's cyclic
garbage collector ran — rarely, as a solve makes few Python objects — and a robust run
of 10 futures (about 100 plan evaluations of 10 MB each) grew by hundreds of MB.
"""

from __future__ import annotations

import gc
import weakref

import numpy as np

from optmodel.solver.highs import Csc, MatrixModel, solve_matrix, to_highs
from optmodel.solver.options import SolveOptions, run_interruptible


def _tiny_mip() -> MatrixModel:
    # max x + y  s.t.  x + 2y <= 3,  x, y in {0, …, 2} integer: optimum 2 + 0 … or 1 + 1
    a = Csc.from_coo(np.array([0, 0]), np.array([0, 1]), np.array([1.0, 2.0]), 1, 2)
    return MatrixModel({"v": 0}, {"c": 0}, np.array([1.0, 1.0]), np.zeros(2),
                       np.full(2, 2.0), np.array([True, True]), np.array([-np.inf]),
                       np.array([3.0]), a)


def test_a_solved_highs_is_freed_without_the_cyclic_collector():
    gc.collect()
    gc.disable()
    try:
        h = to_highs(_tiny_mip(), SolveOptions())
        run_interruptible(h.run, h.cancelSolve)
        assert h.getInfo().objective_function_value == 2.0
        ref = weakref.ref(h)
        del h
        assert ref() is None, "the Highs object is kept alive by a reference cycle"
    finally:
        gc.enable()


def test_solve_matrix_leaves_no_highs_behind():
    import highspy

    gc.collect()
    gc.disable()
    try:
        before = sum(isinstance(o, highspy.Highs) for o in gc.get_objects())
        for _ in range(3):
            res = solve_matrix(_tiny_mip(), SolveOptions(), duals=True)
            assert res.objective == 2.0
        after = sum(isinstance(o, highspy.Highs) for o in gc.get_objects())
        assert after == before
    finally:
        gc.enable()
