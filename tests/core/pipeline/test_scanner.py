import os
import shutil

from photosearch.core.library.catalog import Catalog
from photosearch.core.pipeline.scanner import ScanOptions, fingerprint_bytes, fingerprint_file, scan
from tests.helpers import make_photo, save_jpeg


def _catalog_from(tmp_path, folder):
    """A catalog that knows every file of `folder` as indexed, with fingerprints."""
    import numpy as np

    from photosearch.core.library.catalog import Indexed

    cat = Catalog(tmp_path / "c.sqlite", dim=4)
    result = scan([str(folder)], cat.known())
    cat.add_pending((f.path, f.size, f.mtime_ns) for f in result.new)
    rows = [Indexed(i, os.path.getsize(p), os.stat(p).st_mtime_ns, fingerprint_file(p), 1, 1, np.ones(4))
            for i, p in cat.pending()]
    cat.store(rows, [])
    return cat


def test_fingerprint_of_bytes_and_file_agree(tmp_path):
    data = os.urandom(300_000)
    p = tmp_path / "f.bin"
    p.write_bytes(data)
    assert fingerprint_bytes(data) == fingerprint_file(str(p))
    assert fingerprint_bytes(data) != fingerprint_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    assert fingerprint_bytes(data) != fingerprint_bytes(data[:-1])


def test_walk_finds_images_only_and_skips_hidden_and_excluded(tmp_path):
    root = tmp_path / "root"
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / ".hidden").mkdir()
    (root / "skipme").mkdir()
    for rel in ("a.jpg", "sub/b.PNG", "sub/deeper/c.webp", ".hidden/d.jpg", "skipme/e.jpg", "notes.txt", ".f.jpg"):
        (root / rel).write_bytes(b"x")
    result = scan([str(root)], {}, ScanOptions(exclude=["skipme"]))
    names = sorted(os.path.relpath(f.path, root) for f in result.new)
    assert names == ["a.jpg", "sub/b.PNG", "sub/deeper/c.webp"]
    shown = scan([str(root)], {}, ScanOptions(skip_hidden=False))
    assert len(shown.new) == 6


def test_symlink_loop_is_walked_once(tmp_path):
    root = tmp_path / "root"
    (root / "a").mkdir(parents=True)
    (root / "a" / "p.jpg").write_bytes(b"x")
    os.symlink(root, root / "a" / "loop")
    result = scan([str(root)], {})
    assert [os.path.basename(f.path) for f in result.new] == ["p.jpg"]


def test_unreadable_and_missing_folders_are_recorded(tmp_path, monkeypatch):
    root = tmp_path / "root"
    (root / "locked").mkdir(parents=True)
    (root / "ok.jpg").write_bytes(b"x")
    real_scandir = os.scandir

    def scandir(path):
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    result = scan([str(root), str(tmp_path / "unplugged")], {})
    reasons = dict(result.problems)
    assert "Permission denied" in reasons[str(root / "locked")]
    assert "missing" in reasons[str(tmp_path / "unplugged")]
    assert len(result.new) == 1


def test_rescan_sees_new_changed_moved_and_gone(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(4):
        save_jpeg(make_photo(i), folder / f"p{i}.jpg")
    cat = _catalog_from(tmp_path, folder)
    ids = {os.path.basename(p): k.id for p, k in cat.known().items()}

    assert not scan([str(folder)], cat.known()).has_changes

    save_jpeg(make_photo(10), folder / "new.jpg")
    save_jpeg(make_photo(11), folder / "p0.jpg")  # rewritten
    os.utime(folder / "p0.jpg", ns=(1, 1))
    shutil.move(folder / "p1.jpg", folder / "renamed.jpg")
    (folder / "p2.jpg").unlink()

    result = scan([str(folder)], cat.known())
    assert [os.path.basename(f.path) for f in result.new] == ["new.jpg"]
    assert [(i, os.path.basename(f.path)) for i, f in result.changed] == [(ids["p0.jpg"], "p0.jpg")]
    assert [(i, os.path.basename(f.path)) for i, f in result.moved] == [(ids["p1.jpg"], "renamed.jpg")]
    assert result.gone == [ids["p2.jpg"]]
    assert result.unchanged == 1


def test_files_under_a_missing_root_are_gone_not_removed(tmp_path):
    folder = tmp_path / "usb"
    folder.mkdir()
    save_jpeg(make_photo(1), folder / "a.jpg")
    cat = _catalog_from(tmp_path, folder)
    shutil.rmtree(folder)
    result = scan([str(folder)], cat.known())
    # gone: the indexer keeps them as missing; removed would forget them
    assert len(result.gone) == 1 and result.removed == []
    assert "missing" in result.problems[0][1]
    # a folder the user took out of the library is another matter
    result = scan([str(tmp_path / "elsewhere")], cat.known())
    assert result.gone == [] and len(result.removed) == 1


def test_a_new_file_with_a_gone_ones_ends_but_another_time_is_new(tmp_path):
    """The fingerprint reads a file's ends only: two screenshots of one size share them. A move
    keeps the file's time; another file with the same ends and another time is not that photo."""
    import numpy as np
    from PIL import Image

    folder = tmp_path / "photos"
    folder.mkdir()
    base = np.array(make_photo(7, (800, 600)))
    Image.fromarray(base).save(folder / "A.bmp")
    cat = _catalog_from(tmp_path, folder)
    other = base.copy()
    other[60:540] = np.array(make_photo(8, (800, 600)))[60:540]
    (folder / "A.bmp").unlink()
    Image.fromarray(other).save(folder / "B.bmp")
    os.utime(folder / "B.bmp", ns=(1, os.stat(folder / "B.bmp").st_mtime_ns + 60 * 10**9))
    result = scan([str(folder)], cat.known())
    assert fingerprint_file(str(folder / "B.bmp")) == next(iter(cat.known().values())).fingerprint
    assert result.moved == [] and [os.path.basename(f.path) for f in result.new] == ["B.bmp"]
