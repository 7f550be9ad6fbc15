import numpy as np
import pytest

from photosearch.core.errors import PhotosearchError
from photosearch.core.library.catalog import Indexed
from photosearch.core.search import Searcher
from photosearch.core.vision.labels import LabelIndex


def test_words_map_to_classes_through_the_hierarchy():
    labels = LabelIndex.load()
    dogs = labels.match("dog")
    assert len(dogs) > 100 and 207 in dogs  # golden retriever
    assert 934 not in dogs  # a hot dog is food, not a dog: the common sense wins
    cars = {labels.name(i) for i in labels.match("cars")}
    assert {"sports car", "cab", "convertible"} <= cars
    assert labels.match("Golden Retriever") == [207]
    assert labels.match("hot dog") == [934]
    assert labels.match("xyzzy") == []


def test_keyword_search_ranks_by_probability(app, tmp_path):
    folder = tmp_path / "p"
    folder.mkdir()
    app.libraries.create("lib", [str(folder)])
    rows = {
        "retriever.jpg": [(207, 0.9), (208, 0.05)],
        "beagle.jpg": [(162, 0.6)],
        "cab.jpg": [(468, 0.8)],
        "coffee.jpg": [(967, 0.7), (968, 0.2)],
        "unsure.jpg": [(207, 0.05), (967, 0.5)],
    }
    with app.libraries.open("lib", write=True) as lib:
        lib.catalog.add_pending((str(folder / n), 1, 1) for n in rows)
        lib.catalog.dim = 4
        ids = {path.rsplit("/", 1)[1]: pid for pid, path in lib.catalog.pending()}
        lib.catalog.store([Indexed(ids[n], 1, 1, "fp", 1, 1, np.ones(4, np.float32), labels)
                           for n, labels in rows.items()], [])
        searcher = Searcher(lib)
        dogs = searcher.by_text("dog")
        assert [h.path.rsplit("/", 1)[1] for h in dogs] == ["retriever.jpg", "beagle.jpg", "unsure.jpg"]
        assert dogs[0].score == pytest.approx(0.95)  # both retriever classes count
        assert [h.path.rsplit("/", 1)[1] for h in searcher.by_text("car")] == ["cab.jpg"]
        assert [h.path.rsplit("/", 1)[1] for h in searcher.by_text("dog", min_score=0.5)] == ["retriever.jpg",
                                                                                             "beagle.jpg"]
        with pytest.raises(PhotosearchError, match="no photo subject"):
            searcher.by_text("xyzzy")
