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
        return index_library(lib, descriptor, **kwargs), lib.config


def test_auto_on_a_cpu_quantizes_checks_and_records_int8(app, library):
    notices = []
    app.on_notice = notices.append
    summary, config = _index(app, notices)
    assert summary.precision == "int8" and summary.embedded == 66
    assert config.precision == "auto" and config.precision_used == "int8"
    record = config.int8
    assert record["passed"] and record["calibrated_on"] >= 40 and record["verification"]["photos"] >= 10
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


def test_cli_create_index_and_stats_show_the_precision(isolated_home, tmp_path, convnet_model):
    from tests.test_cli import run

    folder = tmp_path / "p"
    folder.mkdir()
    for i in range(50):
        save_jpeg(make_photo(i, (160, 120)), folder / f"p{i:02d}.jpg")
    run("library", "create", "lib", folder, "--model", convnet_model, "--precision", "int8", home=isolated_home)
    out = run("index", home=isolated_home)
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
