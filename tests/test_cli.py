"""The command line as a user runs it: a subprocess per command."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests.helpers import REPO, make_photo, oriented_copy, save_jpeg


def run(*args, home, check=True, **env_extra):
    env = dict(os.environ, PHOTOSEARCH_HOME=str(home), PYTHONPATH=str(REPO), **env_extra)
    proc = subprocess.run([sys.executable, "-m", "photosearch", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def test_no_arguments_and_help(isolated_home):
    out = run("--help", home=isolated_home).stdout
    for command in ("library", "index", "search", "similar", "stats", "errors"):
        assert command in out


def test_library_lifecycle(isolated_home, photo_folder, tmp_path):
    other = tmp_path / "more"
    other.mkdir()
    run("library", "create", "Family", photo_folder, home=isolated_home)
    run("library", "add-folder", "Family", other, home=isolated_home)
    listing = run("library", "list", home=isolated_home).stdout
    assert "Family" in listing and str(other) in listing
    run("library", "remove-folder", "Family", other, home=isolated_home)
    assert str(other) not in run("library", "list", home=isolated_home).stdout
    run("library", "rename", "Family", "Home", home=isolated_home)
    assert "Home" in run("library", "list", home=isolated_home).stdout
    run("library", "delete", "Home", home=isolated_home)
    assert "Home" not in run("library", "list", home=isolated_home).stdout
    assert (photo_folder / "photo_00.jpg").exists()  # photos are never touched


@pytest.mark.parametrize("args, message", [
    (["search", "x.jpg", "-l", "nope"], "no library named 'nope'"),
    (["library", "create", "a", "/does/not/exist"], "folder does not exist"),
    (["index"], "no library yet"),
])
def test_clear_errors_and_exit_codes(isolated_home, args, message):
    proc = run(*args, home=isolated_home, check=False)
    assert proc.returncode == 1
    assert message in proc.stderr and "Traceback" not in proc.stderr


def test_missing_model_and_unreadable_query(isolated_home, photo_folder, classifier_model, tmp_path):
    run("library", "create", "lib", photo_folder, home=isolated_home)
    proc = run("index", home=isolated_home, check=False, PHOTOSEARCH_EFFNET_WEIGHTS="")
    assert proc.returncode == 1 and "model download resnet50" in proc.stderr and "offline" in proc.stderr
    proc = run("index", "--model", tmp_path / "gone.onnx", home=isolated_home, check=False)
    assert proc.returncode == 1 and "model file not found" in proc.stderr
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"junk")
    proc = run("index", "--model", bad, home=isolated_home, check=False)
    assert proc.returncode == 1 and "not a readable ONNX model" in proc.stderr
    run("index", "--model", classifier_model, home=isolated_home)
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not a jpeg")
    proc = run("search", junk, home=isolated_home, check=False)
    assert proc.returncode == 1 and "cannot read the image" in proc.stderr and "Traceback" not in proc.stderr


def _embedded(stdout: str) -> int:
    return int(stdout.split(":", 1)[1].split("embedded")[0].strip().split()[-1])


def test_index_search_similar_stats_errors_and_rescan(isolated_home, photo_folder, classifier_model, tmp_path):
    (photo_folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    run("library", "create", "lib", photo_folder, "--model", classifier_model, home=isolated_home)
    out = run("index", home=isolated_home).stdout
    assert _embedded(out) == 12 and "1 failed" in out

    query = save_jpeg(make_photo(4).resize((160, 120)), tmp_path / "query.jpg", quality=40)
    hits = json.loads(run("search", query, "-k", "3", "--json", home=isolated_home).stdout)
    assert hits["hits"][0]["path"] == str(photo_folder / "photo_04.jpg") and len(hits["hits"]) == 3

    sim = json.loads(run("similar", photo_folder / "photo_04.jpg", "-k", "50", "--json", home=isolated_home).stdout)
    assert len(sim["hits"]) == 11 and all("photo_04" not in h["path"] for h in sim["hits"])

    stats = json.loads(run("stats", "--json", home=isolated_home).stdout)
    assert stats["photos"]["indexed"] == 12 and stats["photos"]["failed"] == 1
    assert stats["provider"] == "CPUExecutionProvider" and stats["dimension"] == 192
    errors = run("errors", home=isolated_home).stdout
    assert "corrupt.jpg" in errors

    # add, modify, rename, delete: the catalog follows exactly, renamed files are not re-embedded
    save_jpeg(make_photo(50), photo_folder / "added.jpg")
    save_jpeg(make_photo(51), photo_folder / "photo_00.jpg")
    os.utime(photo_folder / "photo_00.jpg", ns=(10**9, 10**9))
    os.rename(photo_folder / "photo_01.jpg", photo_folder / "moved.jpg")
    (photo_folder / "photo_02.jpg").unlink()
    out = run("index", home=isolated_home).stdout
    assert _embedded(out) == 2, out  # added + modified; the renamed one kept its vector
    assert "1 moved" in out and "1 missing" in out
    stats = json.loads(run("stats", "--json", home=isolated_home).stdout)
    assert stats["photos"]["indexed"] == 12 and stats["indexed_in_search_index"] == 12
    assert stats["photos"]["missing"] == 1  # kept with its vector until the user forgets it
    hit = json.loads(run("search", photo_folder / "moved.jpg", "-k", "1", "--json", home=isolated_home).stdout)
    assert hit["hits"][0]["path"] == str(photo_folder / "moved.jpg")


def test_batch_search_prints_one_line_per_query(isolated_home, photo_folder, classifier_model, tmp_path):
    run("library", "create", "lib", photo_folder, "--model", classifier_model, home=isolated_home)
    run("index", home=isolated_home)
    queries = [photo_folder / "photo_03.jpg", tmp_path / "missing.jpg", photo_folder / "photo_07.jpg"]
    listing = tmp_path / "queries.txt"
    listing.write_text("\n".join(map(str, queries)) + "\n")
    proc = run("search", "--batch", listing, "--json", "-k", "2", home=isolated_home, check=False)
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["query"] for r in lines] == [str(q) for q in queries]
    assert lines[0]["hits"][0]["path"] == str(queries[0]) and len(lines[0]["hits"]) == 2
    assert "error" in lines[1] and lines[2]["hits"][0]["path"] == str(queries[2])
    assert proc.returncode == 1  # one query failed
    proc = run("search", "--batch", tmp_path / "no-such-list.txt", home=isolated_home, check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "the list of queries does not exist" in proc.stderr and "bug" not in proc.stderr


def test_second_writer_is_told_the_library_is_in_use(isolated_home, photo_folder, classifier_model):
    from photosearch.core.app import App
    from photosearch.core.library.paths import app_dirs

    run("library", "create", "lib", photo_folder, "--model", classifier_model, home=isolated_home)
    app = App(dirs=app_dirs(isolated_home))
    with app.libraries.open("lib", write=True):
        proc = run("index", home=isolated_home, check=False)
    assert proc.returncode == 1 and "in use by pid" in proc.stderr


def test_planted_copies_found_at_rank_one_with_a_real_model(isolated_home, shared, tmp_path):
    """Edited copies of real photos find their originals, with a real ImageNet model."""
    model = shared / "models" / "efficientnet_lite0_fp32.onnx"
    photos = sorted((shared / "data" / "photos" / "imagenet_sample").glob("*.JPEG"))
    if not model.exists() or len(photos) < 40:
        pytest.skip("real model or photos missing from ../shared")
    from PIL import Image, ImageOps

    library = tmp_path / "lib"
    library.mkdir()
    for p in photos[:40]:
        shutil.copy(p, library / p.name)
    queries = []
    for i, p in enumerate(photos[:40:4]):
        img = ImageOps.exif_transpose(Image.open(p)).convert("RGB")
        w, h = img.size
        kinds = {
            "resized": (img.resize((w // 3, h // 3)), {}),
            "cropped": (img.crop((w // 10, h // 10, w - w // 10, h - h // 10)), {}),
            "lowq": (img, {"quality": 20}),
            "rotated": (oriented_copy(img, 6), {"orientation": 6}),
        }
        name, (edited, opts) = list(kinds.items())[i % 4]
        queries.append((save_jpeg(edited, tmp_path / f"q_{name}_{p.stem}.jpg", **opts), library / p.name))
        # plant the edited copy in the library too: the original must still be found
        save_jpeg(edited, library / f"copy_{name}_{p.stem}.jpg", **opts)
    run("library", "create", "real", library, "--model", model, home=isolated_home)
    run("index", home=isolated_home)
    listing = tmp_path / "q.txt"
    listing.write_text("\n".join(str(q) for q, _ in queries))
    out = run("search", "--batch", listing, "--json", "-k", "2", home=isolated_home).stdout
    for line, (query, original) in zip(out.splitlines(), queries):
        found = [h["path"] for h in json.loads(line)["hits"]]
        planted = str(library / ("copy_" + query.name[2:]))
        assert found[0] == planted and found[1] == str(original), (query.name, found)
    # and each planted copy's most similar other photo is its original
    for query, original in queries:
        planted = library / ("copy_" + query.name[2:])
        top = json.loads(run("similar", planted, "-k", "1", "--json", home=isolated_home).stdout)["hits"][0]
        assert top["path"] == str(original), (planted.name, top)


def test_offline_model_is_used_when_none_is_installed(isolated_home, photo_folder):
    from photosearch.core.models import effnet_lite

    if effnet_lite.weights_file() is None:
        pytest.skip("the offline model's package is not installed")
    run("library", "create", "lib", photo_folder, home=isolated_home)
    proc = run("index", home=isolated_home)
    assert "efficientnet-lite0" in proc.stderr and "offline" in proc.stderr
    assert "12 embedded" in proc.stdout
    listing = run("model", "list", home=isolated_home).stdout
    assert "efficientnet-lite0" in listing and "installed" in listing
    text = json.loads(run("search", "--text", "dog", "--json", home=isolated_home).stdout)
    assert text["query"] == "dog"  # generated pictures are no dogs: any answer is a valid list
    assert isinstance(text["hits"], list)


def test_model_import_tells_what_it_understood(isolated_home, classifier_model, photo_folder):
    out = run("model", "import", classifier_model, "--name", "tiny", home=isolated_home).stdout
    assert "features" in out and "added as an output" in out and "logits" in out
    assert "tiny" in run("model", "list", home=isolated_home).stdout
    run("library", "create", "lib", photo_folder, "--model", "tiny", home=isolated_home)
    assert "12 embedded" in run("index", home=isolated_home).stdout
    run("model", "remove", "tiny", home=isolated_home)
    proc = run("search", photo_folder / "photo_01.jpg", home=isolated_home, check=False)
    assert proc.returncode == 1 and "tiny" in proc.stderr


def test_exclude_patterns_and_hidden_folders(isolated_home, photo_folder, classifier_model):
    (photo_folder / "Screenshots").mkdir()
    save_jpeg(make_photo(90), photo_folder / "Screenshots" / "shot.jpg")
    (photo_folder / ".cache").mkdir()
    save_jpeg(make_photo(91), photo_folder / ".cache" / "thumb.jpg")
    run("library", "create", "lib", photo_folder, "--model", classifier_model, "--exclude", "Screenshots",
        home=isolated_home)
    assert "12 embedded" in run("index", home=isolated_home).stdout
    run("library", "create", "all", photo_folder, "--model", classifier_model, "--include-hidden",
        home=isolated_home)
    assert "14 embedded" in run("index", "all", home=isolated_home).stdout


def test_descriptor_settings_and_rotated_copies(isolated_home, photo_folder, classifier_model, tmp_path):
    from PIL import Image

    run("library", "create", "lib", photo_folder, "--model", classifier_model, home=isolated_home)
    run("index", home=isolated_home)
    proc = run("index", "--descriptor", "gem+rot", home=isolated_home, check=False)
    assert proc.returncode == 1 and "--reindex" in proc.stderr  # vectors would mix otherwise
    out = run("index", "--reindex", "--descriptor", "gem+rot", home=isolated_home).stdout
    assert "12 embedded" in out
    stats = json.loads(run("stats", "--json", home=isolated_home).stdout)
    assert stats["photos"]["indexed"] == 12
    # a copy whose pixels were turned 90 degrees is found by the rotated query views
    rotated = save_jpeg(make_photo(8).transpose(Image.Transpose.ROTATE_90), tmp_path / "turned.jpg")
    hits = json.loads(run("search", rotated, "-k", "1", "--json", home=isolated_home).stdout)["hits"]
    assert hits[0]["path"] == str(photo_folder / "photo_08.jpg") and hits[0]["score"] > 0.95


def test_no_arguments_without_a_display_explains_instead_of_crashing(isolated_home):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env.update(PHOTOSEARCH_HOME=str(isolated_home), PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-m", "photosearch"], capture_output=True, text=True, env=env,
                          timeout=60)
    assert proc.returncode == 1 and "no display" in proc.stderr and "--help" in proc.stderr


def test_default_descriptor_through_the_command_line(isolated_home, photo_folder, convnet_model, tmp_path):
    run("library", "create", "lib", photo_folder, "--model", convnet_model, home=isolated_home)
    out = run("index", home=isolated_home).stdout
    assert _embedded(out) == 12
    stats = json.loads(run("stats", "--json", home=isolated_home).stdout)
    # GeM + thumbnail part: two 32-channel halves; whitening waits for 1000 photos
    assert stats["descriptor"] == "default" and stats["dimension"] == 64 and stats["whitened_on"] == 0
    assert "not tuned to this library yet" in run("stats", home=isolated_home).stdout
    rotated = save_jpeg(make_photo(3).rotate(90, expand=True), tmp_path / "turned.jpg")  # pixels, not EXIF
    hits = json.loads(run("search", rotated, "-k", "1", "--json", home=isolated_home).stdout)
    assert hits["hits"][0]["path"] == str(photo_folder / "photo_03.jpg")
    out = run("index", "--descriptor", "avg", home=isolated_home, check=False)
    assert out.returncode == 1 and "--reindex" in out.stderr


def test_missing_photos_are_kept_shown_and_forgotten_only_on_request(isolated_home, photo_folder, classifier_model,
                                                                     tmp_path):
    run("library", "create", "lib", photo_folder, "--model", classifier_model, home=isolated_home)
    run("index", home=isolated_home)
    away = tmp_path / "away"
    away.mkdir()
    for name in ("photo_01.jpg", "photo_02.jpg"):
        (photo_folder / name).rename(away / name)
    out = run("index", home=isolated_home).stdout
    assert "2 missing" in out and "forget-missing" in out
    assert "2 missing" in run("stats", home=isolated_home).stdout
    for name in ("photo_01.jpg", "photo_02.jpg"):
        (away / name).rename(photo_folder / name)
    out = run("index", home=isolated_home).stdout
    assert _embedded(out) == 0 and "2 back" in out
    (photo_folder / "photo_03.jpg").unlink()
    run("index", home=isolated_home)
    out = run("library", "forget-missing", "lib", home=isolated_home).stdout
    assert "forgot 1 missing photo" in out
    stats = json.loads(run("stats", "--json", home=isolated_home).stdout)
    assert stats["photos"]["missing"] == 0 and stats["photos"]["indexed"] == 11


def test_doctor_says_what_works_on_a_machine_without_a_gpu(isolated_home, photo_folder):
    run("library", "create", "lib", photo_folder, home=isolated_home)
    proc = run("doctor", home=isolated_home)
    out = proc.stdout
    for section in ("Desktop app (Qt)", "ONNX Runtime", "Photo formats", "Models", "Storage", "Libraries"):
        assert section in out
    assert "providers: " in out and "CPUExecutionProvider" in out
    assert "HEIC/HEIF photos are read" in out and "RAW photos are read" in out
    assert "lib: 0 indexed, 0 pending" in out and "Traceback" not in proc.stderr


def test_qt_problems_are_named_with_the_packages_that_fix_them(monkeypatch):
    from photosearch import qtcheck

    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setattr(qtcheck, "_missing_libraries", lambda files: ["libxcb-cursor.so.0", "libxkbcommon-x11.so.0"])
    check = qtcheck.check()
    advice = "\n".join(check.advice())
    assert "libxcb-cursor.so.0" in advice
    assert "apt-get install libxcb-cursor0 libxkbcommon-x11-0" in advice
    assert "dnf install libxkbcommon-x11 xcb-util-cursor" in advice


def test_the_app_explains_missing_qt_libraries_instead_of_aborting(monkeypatch, capsys):
    from photosearch import __main__, qtcheck

    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setattr(qtcheck, "_missing_libraries", lambda files: ["libxcb-cursor.so.0"])
    assert __main__.main_gui() == 1  # instead of Qt's abort
    err = capsys.readouterr().err
    assert "libxcb-cursor.so.0" in err and "apt-get install libxcb-cursor0" in err and "doctor" in err


def test_model_info_of_a_known_model_not_installed_shows_its_catalogue_entry(isolated_home):
    proc = run("model", "info", "resnet50", home=isolated_home)
    out = proc.stdout
    assert "not installed" in out and "Apache-2.0" in out and "sha256" in out and "MB download" in out
    assert "photosearch model download resnet50" in out
    assert run("model", "info", "nope", home=isolated_home, check=False).returncode == 1


def test_a_count_moves_on_a_terminal_only_once_a_percent_and_ends_its_line():
    import io

    from photosearch.cli.output import CountProgress

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    line, plain = Tty(), io.StringIO()
    for stream in (line, plain):
        count = CountProgress("proving", 200, " photos", stream)
        for done in (0, 1, 2, 150, 300):
            count(done, 300)
        CountProgress("small", 200, "", stream)(5, 10)  # too little to be worth a line
    shown = line.getvalue().split("\r\033[K")[1:]
    assert shown == ["proving: 0/300 photos", "proving: 150/300 photos", "proving: 300/300 photos\n"]
    assert plain.getvalue() == ""  # a script's stderr stays quiet
