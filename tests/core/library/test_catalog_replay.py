"""Readers see exactly what the catalog holds: random sequences of file changes, indexing by a
writer and refreshes by a reader, checked against a brute-force model of the folder."""

import itertools
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from photosearch.core.library.catalog import INDEXED
from photosearch.core.pipeline.indexer import index_library
from tests.helpers import make_photo, save_jpeg

OPS = st.one_of(
    st.tuples(st.just("add"), st.integers(0, 10_000)),
    st.tuples(st.just("fail"), st.integers(0, 50)),
    st.tuples(st.just("fix"), st.integers(0, 50)),
    st.tuples(st.just("change"), st.integers(0, 50)),
    st.tuples(st.just("move"), st.integers(0, 50)),
    st.tuples(st.just("remove"), st.integers(0, 50)),
    st.tuples(st.just("back"), st.integers(0, 50)),
    st.tuples(st.just("index"), st.just(0)),
    st.tuples(st.just("refresh"), st.just(0)),
)


class Folder:
    """The files as they are, and which of them a model can read: the brute-force model."""

    def __init__(self, root, aside):
        self.root, self.aside = root, aside
        self.valid: dict[str, bool] = {}  # name -> readable image
        self.away: dict[str, bool] = {}  # removed files kept aside, by name
        self.names = (f"f{i:03d}.jpg" for i in itertools.count())
        self.clock = itertools.count(10**18, 10**9)  # every rewrite gets a new mtime

    def _write(self, name, seed, valid):
        path = self.root / name
        if valid:
            save_jpeg(make_photo(seed, (96, 64)), path)
        else:
            path.write_bytes(b"not an image %d" % seed)
        t = next(self.clock)
        os.utime(path, ns=(t, t))
        self.valid[name] = valid

    def _pick(self, pool, i):
        names = sorted(pool)
        return names[i % len(names)] if names else None

    def apply(self, op, arg):
        if op == "add":
            self._write(next(self.names), arg, True)
        elif op in ("fail", "fix", "change"):
            name = self._pick(self.valid, arg)
            if name:
                self._write(name, arg + 7919 * len(self.valid), op != "fail")
        elif op == "move":
            name = self._pick(self.valid, arg)
            if name:
                new = next(self.names)
                os.rename(self.root / name, self.root / new)
                self.valid[new] = self.valid.pop(name)
        elif op == "remove":
            name = self._pick(self.valid, arg)
            if name:
                os.rename(self.root / name, self.aside / name)
                self.away[name] = self.valid.pop(name)
        elif op == "back":
            name = self._pick(self.away, arg)
            if name:
                os.rename(self.aside / name, self.root / name)
                self.valid[name] = self.away.pop(name)

    def searchable(self):
        return {str(self.root / n) for n, ok in self.valid.items() if ok}


def _indexed_ids(catalog):
    return {r[0] for r in catalog.conn.execute("SELECT id FROM photos WHERE status=?", (INDEXED,))}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                HealthCheck.too_slow])
@given(ops=st.lists(OPS, min_size=1, max_size=18))
def test_a_reader_replaying_the_catalog_sees_exactly_what_it_holds(app, tmp_path_factory, classifier_model, ops):
    base = tmp_path_factory.mktemp("replay")
    root, aside = base / "photos", base / "aside"
    root.mkdir()
    aside.mkdir()
    folder = Folder(root, aside)
    for seed in range(3):
        folder.apply("add", seed)
    name = base.name
    app.libraries.create(name, [str(root)], model=app.model_spec(classifier_model).describe())
    writer = app.libraries.open(name, write=True)
    try:
        embedder = app.embedder_for(writer)
        index_library(writer, embedder)
        reader = app.libraries.open(name, write=False)
        try:
            assert reader.index is not None
            for op, arg in [*ops, ("index", 0), ("refresh", 0)]:
                if op == "index":
                    index_library(writer, embedder)
                    cat = writer.catalog
                    held = {p for i, p in cat.paths(_indexed_ids(cat)).items()}
                    assert held == folder.searchable()  # the catalog follows the folder
                    assert writer.index.live_ids() == _indexed_ids(cat)
                    assert writer.index.live_count == len(held)
                elif op == "refresh":
                    reader.refresh()
                    assert reader.index.live_ids() == _indexed_ids(reader.catalog)
                    assert reader.index.live_count == len(reader.index.live_ids())
                else:
                    folder.apply(op, arg)
        finally:
            reader.close()
    finally:
        writer.close()
    # and a fresh open agrees without rebuilding (hnswlib's deleted count was kept right)
    with app.libraries.open(name) as again:
        assert again.index.live_ids() == _indexed_ids(again.catalog)
        assert not any("Rebuilding" in n for n in again.notices)
