"""The solve command loads its libraries without garbage collection and freezes them
(optmodel.cli.common.loading_libraries, docs/performance.md): the collector must be
back as it was afterwards, also after an error, and what was made must be frozen."""

from __future__ import annotations

import gc

import pytest

from optmodel.cli.common import loading_libraries


@pytest.fixture(autouse=True)
def _collector_as_it_was():
    was_on = gc.isenabled()
    yield
    gc.unfreeze()  # back to ordinary collection for the rest of the test session
    (gc.enable if was_on else gc.disable)()


def test_no_collection_while_loading_then_frozen_and_on_again() -> None:
    gc.enable()
    frozen_before = gc.get_freeze_count()
    with loading_libraries():
        assert not gc.isenabled()
        made = [[] for _ in range(1000)]  # containers are tracked by the collector
    assert gc.isenabled()
    assert gc.get_freeze_count() >= frozen_before + len(made)


def test_collector_left_off_when_it_was_off() -> None:
    gc.disable()
    with loading_libraries():
        pass
    assert not gc.isenabled()


def test_collector_back_on_after_an_import_error() -> None:
    gc.enable()
    with pytest.raises(ModuleNotFoundError), loading_libraries():
        import optmodel_no_such_module  # noqa: F401
    assert gc.isenabled()
