"""int8 on the user's machine: quantized, checked against fp32, recorded, reused."""

import json

import numpy as np
import pytest

from photosearch.core.errors import LibraryIncompatible
from photosearch.core.models import quantize as quantize_module
from photosearch.core.pipeline import precision
from photosearch.core.pipeline.indexer import index_library
from photosearch.core.search import Searcher
from tests.helpers import make_photo, save_jpeg


@pytest.fixture
def library(app, tmp_path, convnet_model):
    folder = tmp_path / "photos"
    for k, sub in enumerate(("2019", "2020", "2021")):  # several folders: the calibration spans them
        (folder / sub).mkdir(parents=True)
        for i in range(22):
            save_jpeg(make_photo(1000 * k + i, (160, 120)), folder / sub / f"p{i:02d}.jpg")
    app.libraries.create("lib", [str(folder)], model=app.model_spec(convnet_model).describe())
    return folder


def _index(app, notices=None, **kwargs):
    with app.libraries.open("lib", write=True) as lib:
        descriptor = app.descriptor_for_indexing(lib, report=(notices.append if notices is not None else print))
        return index_library(lib, descriptor, ahead=app.take_decoded(lib), **kwargs), lib.config


def test_auto_on_a_cpu_quantizes_checks_and_records_int8(app, library):
    notices = []
    app.on_notice = notices.append
    summary, config = _index(app, notices)
    assert summary.precision == "int8" and summary.embedded == 66
    assert config.precision == "auto" and config.precision_used == "int8"
    record = config.int8
    assert record["passed"] and record["calibrated_on"] == precision.CALIBRATION_PHOTOS
    assert record["verification"]["photos"] == precision.CHECK_PHOTOS
    assert any("int8 check passed" in n for n in notices)
    with app.libraries.open("lib") as lib:
        model_file = lib.folder / record["file"]
        assert model_file.exists()
        import onnx

        ops = {n.op_type for n in onnx.load(str(model_file)).graph.node}
        assert "QLinearConv" in ops  # really int8 arithmetic
        searcher = Searcher(lib, app.descriptor_for(lib))  # searches use the library's int8 model
        assert searcher.descriptor.precision == "int8"
        hit = searcher.by_images([library / "2020" / "p05.jpg"], k=1)[0]
        assert hit.path == str(library / "2020" / "p05.jpg") and hit.score > 0.99


def test_the_calibration_sample_spans_the_folders(app, library):
    with app.libraries.open("lib", write=True) as lib:
        from photosearch.core.pipeline.indexer import scan_library

        scan_library(lib)
        picked = precision.sample_photos(lib, 30)
    folders = {p.split("/")[-2] for p in picked}
    assert folders == {"2019", "2020", "2021"} and len(picked) == 30


def test_a_broken_int8_model_is_rejected_and_fp32_used_with_a_message(app, library, monkeypatch, convnet_model):
    real = quantize_module.quantize

    def broken(fp32, out, input_name, views):
        path = real(fp32, out, input_name, views)
        import onnx
        from onnx import numpy_helper

        model = onnx.load(str(path))
        for init in model.graph.initializer:  # scramble every weight: what a bad calibration gives
            arr = numpy_helper.to_array(init)
            if arr.size > 4 and arr.dtype in (np.int8, np.uint8):
                init.CopyFrom(numpy_helper.from_array(np.random.default_rng(0).permutation(arr.ravel())
                                                      .reshape(arr.shape), init.name))
        path.write_bytes(model.SerializeToString())
        return path

    monkeypatch.setattr(precision, "quantize", broken)
    notices = []
    app.on_notice = notices.append
    summary, config = _index(app, notices)
    assert summary.precision == "fp32" and config.precision_used == "fp32"
    assert config.int8 and not config.int8["passed"]
    assert any("int8 check failed" in n and "fp32 is used" in n for n in notices)


def test_forced_int8_still_prints_its_check(app, library, monkeypatch):
    with app.libraries.open("lib", write=True) as lib:
        lib.set_precision("int8")
    notices = []
    app.on_notice = notices.append
    summary, config = _index(app, notices)
    assert summary.precision == "int8" and any("int8 check" in n for n in notices)


def test_fp32_setting_and_a_change_of_precision_needs_a_reindex(app, library):
    with app.libraries.open("lib", write=True) as lib:
        lib.set_precision("fp32")
    summary, config = _index(app)
    assert summary.precision == "fp32" and config.int8 is None
    with app.libraries.open("lib", write=True) as lib:
        with pytest.raises(LibraryIncompatible, match="--reindex --precision int8"):
            lib.set_precision("int8")
        lib.set_precision("auto")  # auto never switches a library that has vectors
    summary, config = _index(app)
    assert summary.precision == "fp32" and summary.embedded == 0


def test_the_int8_model_is_reused_when_nothing_changed(app, library, monkeypatch):
    _index(app)
    calls = []
    real = precision.quantize
    monkeypatch.setattr(precision, "quantize", lambda *a, **k: calls.append(1) or real(*a, **k))
    with app.libraries.open("lib", write=True) as lib:
        descriptor = app.reindex(lib, report=lambda text: None)
        assert descriptor.precision == "int8"
        index_library(lib, descriptor)
    assert calls == []  # same model, settings and calibration photos: the cached int8 model


def _index_at_int8(tmp_path, home, model, photos: int):
    """A library of `photos` small photos made at int8 and indexed from the command line."""
    from tests.test_cli import run

    folder = tmp_path / "p"
    folder.mkdir()
    for i in range(photos):
        save_jpeg(make_photo(i, (160, 120)), folder / f"p{i:02d}.jpg")
    run("library", "create", "lib", folder, "--model", model, "--precision", "int8", home=home)
    return run("index", home=home)


def test_cli_create_index_and_stats_show_the_precision(isolated_home, tmp_path, convnet_model):
    from tests.test_cli import run

    out = _index_at_int8(tmp_path, isolated_home, convnet_model, 50)
    assert "int8 check" in out.stderr and "int8)" in out.stdout
    stats = run("stats", home=isolated_home).stdout
    assert "precision   int8 (setting: int8); int8 check on" in stats
    data = json.loads(run("stats", "--json", home=isolated_home).stdout)
    assert data["precision_used"] == "int8" and data["int8_check"]["mean_cosine"] > 0.98
    proc = run("index", "--precision", "fp32", home=isolated_home, check=False)
    assert proc.returncode == 1 and "--reindex --precision fp32" in proc.stderr
    out = run("index", "--reindex", "--precision", "fp32", home=isolated_home).stdout
    assert "50 embedded" in out and "int8" not in out


def test_an_already_quantized_model_is_left_alone(app, library):
    _, config = _index(app)
    with app.libraries.open("lib") as lib:
        int8_file = lib.folder / config.int8["file"]
    assert quantize_module.is_quantized(int8_file)
    app.libraries.create("zoo", [str(library)], model=app.model_spec(int8_file).describe())
    with app.libraries.open("zoo", write=True) as lib:
        descriptor = app.descriptor_for_indexing(lib, report=lambda text: None)
        assert descriptor.precision == "fp32" and descriptor.embedder.spec.path == int8_file
        assert lib.config.int8 is None  # nothing was made: the model is used as it is


def _counting_decodes(monkeypatch):
    from photosearch.core.pipeline import indexer

    counts = {}
    real = indexer.decode

    def counting(source, *args, name=None, **kwargs):
        counts[name] = counts.get(name, 0) + 1
        return real(source, *args, name=name, **kwargs)

    monkeypatch.setattr(indexer, "decode", counting)
    return counts


def test_the_first_int8_indexing_reads_each_photo_once(app, library, monkeypatch):
    counts = _counting_decodes(monkeypatch)
    with app.libraries.open("lib", write=True) as lib:
        descriptor = app.descriptor_for_indexing(lib, report=lambda text: None)
        assert descriptor.precision == "int8" and counts  # the sample was read to make it
        summary = index_library(lib, descriptor, ahead=app.take_decoded(lib))
    assert summary.embedded == 66 and summary.precision == "int8"
    assert len(counts) == 66 and set(counts.values()) == {1}
    with app.libraries.open("lib") as lib:  # the photos read for the int8 model were stored as read
        searcher = Searcher(lib, app.descriptor_for(lib))
        hit = searcher.by_images([library / "2019" / "p03.jpg"], k=1)[0]
        assert hit.path == str(library / "2019" / "p03.jpg") and hit.score > 0.99
        assert app.take_decoded(lib) == {}  # handed over once


def test_a_reindex_reusing_the_int8_model_reads_and_checks_nothing_more(app, library, monkeypatch):
    _, first = _index(app)
    checks = []
    real_verify = precision.verify
    monkeypatch.setattr(precision, "verify", lambda *a, **k: checks.append(1) or real_verify(*a, **k))
    counts = _counting_decodes(monkeypatch)
    notices = []
    app.on_notice = notices.append
    with app.libraries.open("lib", write=True) as lib:
        descriptor = app.reindex(lib, report=lambda text: None)
        assert descriptor.precision == "int8" and counts == {} and checks == []
        summary = index_library(lib, descriptor, ahead=app.take_decoded(lib))
        assert summary.embedded == 66 and set(counts.values()) == {1}  # indexing reads each photo once
        assert lib.config.int8 == first.int8  # the same model, and its check as it was made
    assert any("not checked again" in n for n in notices)


def test_an_int8_model_that_changed_on_disk_is_checked_again(app, library, monkeypatch):
    _, first = _index(app)
    with app.libraries.open("lib") as lib:
        model_file = lib.folder / first.int8["file"]
    model_file.write_bytes(model_file.read_bytes() + b"\0")  # not the file that was checked
    checks = []
    real_verify = precision.verify
    monkeypatch.setattr(precision, "verify", lambda *a, **k: checks.append(1) or real_verify(*a, **k))
    with app.libraries.open("lib", write=True) as lib:
        app.reindex(lib, report=lambda text: None)
    assert checks == [1]


def test_quantizing_logs_nothing_and_leaves_the_application_logging_alone(tmp_path, convnet_model):
    import logging

    root = logging.getLogger()
    seen = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(record)

    kept = Keep(level=logging.DEBUG)
    for handlers in ([], [kept]):  # an application with no logging set up, and one with its handler
        seen.clear()
        saved = root.handlers[:]
        root.handlers[:] = handlers
        try:
            views = [np.random.default_rng(i).normal(size=(3, 64, 64)).astype(np.float32) for i in range(4)]
            quantize_module.quantize(convnet_model, tmp_path / "int8.onnx", "input", views)
            assert root.handlers == handlers and root.filters == []
            assert not any("onnxruntime" in r.pathname for r in seen)
            logging.getLogger("photosearch.test").warning("the application's own line")
            assert [r.getMessage() for r in seen] == (["the application's own line"] if handlers else [])
        finally:
            root.handlers[:] = saved


def test_the_command_line_prints_no_third_party_log_line(isolated_home, tmp_path, convnet_model):

    err = _index_at_int8(tmp_path, isolated_home, convnet_model, 45).stderr
    assert "Calibrating" in err or "calibrating" in err  # the int8 model was made in this run
    assert "WARNING" not in err and "Please consider" not in err and "onnxruntime" not in err.lower()
    assert "[W:" not in err and "[E:" not in err  # ONNX Runtime's own log format


def test_a_reindex_whose_int8_model_cannot_be_made_indexes_at_fp32(app, library, monkeypatch):
    """The re-index has forgotten the vectors before the int8 model is made: a failure there
    (a bug of ours or of ONNX Runtime's) must not leave the library empty."""
    _index(app)
    notices = []
    app.on_notice = notices.append

    def broken(*args, **kwargs):
        raise RuntimeError("quantizer crashed")

    monkeypatch.setattr(precision, "make_int8", broken)
    with app.libraries.open("lib", write=True) as lib:
        lib.config.int8 = None  # nothing to reuse: the model must be made again
        descriptor = app.reindex(lib, report=lambda text: None)
        assert descriptor.precision == "fp32"
        summary = index_library(lib, descriptor)
        assert summary.embedded == 66 and lib.catalog.counts()["indexed"] == 66
    assert any("could not make the int8 model" in n and "quantizer crashed" in n for n in notices)
