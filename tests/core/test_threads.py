"""What worker threads and the GUI thread share: the App's caches and a library's catalog."""

import sys
import threading
import time

import pytest

from photosearch.core import app as app_module
from photosearch.core.errors import StorageError
from photosearch.core.library.catalog import Catalog


class _SlowDict(dict):
    """Widens the window between storing an entry and reading it back, as a busy machine does."""

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        time.sleep(0.0005)

    def setdefault(self, key, value=None):
        found = super().setdefault(key, value)
        time.sleep(0.0005)
        return found


class _CheapEmbedder:
    notice = None

    def __init__(self, spec, device="auto"):
        self.spec, self.device = spec, device


def test_embedder_cache_survives_device_changes_from_another_thread(app, classifier_model, monkeypatch):
    """Workers fill the cache while the GUI thread clears it (a device change): before the
    lock, a worker could find its fresh entry gone between storing and returning it."""
    monkeypatch.setattr(app_module, "Embedder", _CheapEmbedder)
    app._embedders = _SlowDict()
    spec = app.model_spec(classifier_model)
    errors, stop = [], threading.Event()
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # interleave threads as often as possible

    def worker():
        try:
            while not stop.is_set():
                assert app.embedder(spec).spec is spec
        except Exception as exc:  # noqa: BLE001 - any failure is what this test looks for
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        for i in range(3000):
            app.set_device("cpu" if i % 2 else "auto")
            time.sleep(0.0001)
    finally:
        stop.set()
        for t in threads:
            t.join()
        sys.setswitchinterval(old)
    assert errors == []


def test_a_closed_catalog_refuses_instead_of_reopening_behind_the_closer(tmp_path):
    catalog = Catalog(tmp_path / "c.sqlite", dim=4)
    used, closed, outcome = threading.Event(), threading.Event(), []

    def other_thread():
        catalog.counts()  # this thread's own connection
        used.set()
        closed.wait(10)
        try:
            catalog.counts()
            outcome.append("reopened")
        except StorageError as exc:
            outcome.append(str(exc))

    t = threading.Thread(target=other_thread)
    t.start()
    assert used.wait(10)
    catalog.close()
    closed.set()
    t.join()
    assert outcome and "closed" in outcome[0]
    with pytest.raises(StorageError, match="closed"):
        catalog.counts()
