"""PySide6 6.12.0 on Python 3.11 drops a reference to None per setValue/setText/processEvents
and aborts after ~5,000 calls (Fatal Python error: none_dealloc). pyproject excludes it;
this guards against any version with the same leak."""

import sys

import pytest


def test_pyside_version_is_not_the_broken_one():
    import PySide6

    assert PySide6.__version__ != "6.12.0"


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal from Python 3.12")
def test_none_refcount_survives_10000_widget_updates(qapp):
    from PySide6.QtWidgets import QLabel, QProgressBar

    bar, label = QProgressBar(), QLabel()
    bar.setRange(0, 10_000)
    before = sys.getrefcount(None)
    for i in range(10_000):
        bar.setValue(i)
        if i % 10 == 0:
            label.setText(str(i))
            qapp.processEvents()
    after = sys.getrefcount(None)
    assert after > before - 500, f"None lost {before - after} references"
