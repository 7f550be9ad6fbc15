"""Duplicates: star groups that cannot chain and whose members are proven against the centre,
keep rules, reference folders, decisions that survive renames, and the command line's forms."""

import json
import os
import shutil

import numpy as np
import pytest
from PIL import Image

from photosearch.core.duplicates.grouping import Pair, star_groups
from photosearch.core.duplicates.keep import Candidate, choose, parse_rules
from photosearch.core.duplicates.pairs import FLOOR
from photosearch.core.errors import PhotosearchError
from tests.test_cli import run


def _accepts(proven, asked=None):
    """A level test that knows which pairs are proven (and records what it was asked)."""
    def accepts(pairs):
        if asked is not None:
            asked.extend(pairs)
        return [tuple(sorted(p)) in proven for p in pairs]
    return accepts


def test_a_chain_of_similar_shots_does_not_become_one_group():
    chain = [Pair(i, i + 1, 0.95, 0.95) for i in range(10)]  # each shot like the next, the ends unlike
    proven = {(i, i + 1) for i in range(10)}
    groups = star_groups(chain, list(range(11)), _accepts(proven))
    assert groups and all(len(g.members) <= 3 for g in groups)
    for g in groups:  # every member is proven against its group's centre
        assert all(tuple(sorted((g.centre, m))) in proven for m in g.members[1:])


def test_grouping_reports_how_many_photos_it_has_met_until_all(monkeypatch):
    """Proving pairs in pixels is most of a first grouping: the photos met so far (tried as a
    centre or grouped) are reported after each wave of proofs, never backwards, ending at all of
    those with candidates; photos with no candidate are not counted."""
    import photosearch.core.duplicates.grouping as grouping

    pairs = [Pair(i, i + 1, 0.95, 0.95) for i in range(0, 200, 2)] + [Pair(i, i + 1, 0.9, 0.9) for i in range(1, 60, 2)]
    seen = []
    monkeypatch.setattr(grouping, "WAVE", 8)  # several waves from a small library
    groups = star_groups(pairs, list(range(300)), _accepts({(i, i + 1) for i in range(0, 200, 2)}),
                         lambda done, total: seen.append((done, total)))
    assert len(groups) == 100 and len(seen) > 5
    assert {t for _, t in seen} == {200} and seen[-1] == (200, 200)
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:])) and seen[0][0] < 200


def test_members_are_proven_against_the_centre_and_look_alikes_are_not_enough():
    # 1, 2, 3 look alike and 1-2, 1-3 are proven; 4-5 look alike but are not proven (two shots of
    # one monument): no group, however high their look-alike score
    pairs = [Pair(1, 2, 0.99, 0.99), Pair(1, 3, 0.97, 0.97), Pair(2, 3, 0.98, 0.98), Pair(4, 5, 0.99, 0.99)]
    asked = []
    groups = star_groups(pairs, [1, 2, 3, 4, 5], _accepts({(1, 2), (1, 3)}, asked))
    assert [sorted(g.members) for g in groups] == [[1, 2, 3]] and groups[0].centre == 1
    assert (2, 3) not in asked and (3, 2) not in asked  # members of a group are not tried as centres
    # the order decides the centre: the photo to keep comes first
    groups = star_groups(pairs, [3, 1, 2], _accepts({(1, 3), (2, 3)}))
    assert groups[0].centre == 3 and sorted(groups[0].members) == [1, 2, 3]
    # a photo the first centre could not prove gets its chance as a centre of its own
    groups = star_groups(pairs[:3], [1, 2, 3], _accepts({(2, 3)}))
    assert [(g.centre, sorted(g.members)) for g in groups] == [(2, [2, 3])]


def _c(i, path, w=100, h=100, size=1000, mtime=0):
    return Candidate(i, path, size, mtime, w, h)


def test_keep_rules_in_order_and_reference_folders_never_removed():
    big, small_big_file, old = _c(1, "/a/big.jpg", 4000, 3000, 1), _c(2, "/a/s.jpg", 100, 100, 9), \
        _c(3, "/a/old.jpg", 100, 100, 9, mtime=-5)
    keep, others, _ = choose([small_big_file, old, big])
    assert keep is big and set(others) == {old, small_big_file}  # resolution first
    keep, _, _ = choose([small_big_file, old, big], parse_rules("size,date"))
    assert keep is old  # same size: the older
    ref = _c(4, "/ref/x.jpg", 10, 10, 1)
    keep, others, protected = choose([big, ref, old], reference=["/ref"])
    assert keep is ref and ref not in others and big in others
    with pytest.raises(PhotosearchError, match="unknown keep rule"):
        parse_rules("resolution,colour")
    # a framed copy has more pixels than its original, not more picture: its measured content box
    # comes out a little larger (the frame's edge bleeds), and its bigger file is mostly frame
    original = _c(5, "/a/original.jpg", 1000, 800, 200)
    framed = Candidate(6, "/a/framed.jpg", 260, 0, 1200, 1000, content=(1000 * 800) / (1200 * 1000) * 1.015)
    assert choose([framed, original])[0] is original
    assert choose([framed, _c(7, "/a/smaller.jpg", 900, 700, 900)])[0] is framed  # a smaller picture still loses


def test_planted_copies_are_grouped_and_decisions_are_remembered(isolated_home, planted):
    folder, originals = planted
    lines = run("duplicates", "--json", home=isolated_home).stdout.splitlines()
    groups = [json.loads(line) for line in lines]
    assert len(groups) == 3 and all(g["level"] == "copies" for g in groups)
    for g in groups:  # the full-size original is kept, the half-size copy may go
        assert "small-" not in os.path.basename(g["keep"])
        assert [os.path.basename(o["path"]) for o in g["others"]] == [f"small-{os.path.basename(g['keep'])[:-5]}.jpg"]
        assert FLOOR <= g["others"][0]["score"] <= 1.0
        assert g["others"][0]["evidence"].startswith("an edited copy") and "resized" in g["others"][0]["evidence"]
    # "not duplicates" for one group: gone from the list, and it stays gone after a rename
    first = groups[0]
    run("duplicates", "--not-duplicate", first["keep"], first["others"][0]["path"], home=isolated_home)
    moved = folder / "trip" / "renamed.jpg"
    os.rename(first["others"][0]["path"], moved)
    run("index", home=isolated_home)
    after = [json.loads(line) for line in run("duplicates", "--json", home=isolated_home).stdout.splitlines()]
    assert len(after) == 2 and first["keep"] not in {g["keep"] for g in after}
    assert "renamed.jpg" in run("duplicates", "--decisions", home=isolated_home).stdout
    run("duplicates", "--forget-decision", str(moved), home=isolated_home)
    again = [json.loads(line) for line in run("duplicates", "--json", home=isolated_home).stdout.splitlines()]
    assert len(again) == 3


def test_reference_folders_and_missing_photos(isolated_home, planted):
    folder, originals = planted
    out = run("duplicates", "--json", "--reference", folder / "trip", home=isolated_home).stdout
    groups = [json.loads(line) for line in out.splitlines()]
    assert groups and all("/trip/" in g["keep"] for g in groups)  # the protected copy is the one kept
    assert all("/trip/" not in o["path"] for g in groups for o in g["others"])
    shutil.move(str(folder / "trip"), str(folder.parent / "away"))  # the copies go missing
    run("index", home=isolated_home)
    assert run("duplicates", "--json", home=isolated_home).stdout.strip() == ""  # never in a group


def test_compare_says_how_alike_and_what_differs(isolated_home, planted, shared):
    folder, originals = planted
    a, copy = originals[0], folder / "trip" / f"small-{originals[0].stem}.jpg"
    result = json.loads(run("compare", folder / a.name, copy, "--json", home=isolated_home).stdout)
    assert result["level"] == "copies" and result["evidence"]["pixels"] == "copy"
    assert "resized" in result["evidence"]["reason"] and result["evidence"]["coverage_a"] > 0.95
    assert result["differs"]["width"] == [result["a"]["width"], result["a"]["width"] // 2]
    assert "size" in result["differs"] and "format" not in result["differs"]
    other = json.loads(run("compare", folder / a.name, folder / originals[5].name, "--json",
                           home=isolated_home).stdout)
    assert other["level"] == "different" and other["evidence"]["pixels"] == "different"
    # photos outside any library: the model given (or the default one)
    text = run("compare", a, originals[1], "--model", shared / "models" / "efficientnet_lite0_fp32.onnx",
               "-l", "nope", home=isolated_home).stdout
    assert text.startswith("different (look-alike score ") and "pixels: different pictures" in text


def test_trash_others_and_undo_round_trip_without_embedding(isolated_home, planted, tmp_path):
    folder, originals = planted
    trash_home = tmp_path / "xdg-data"  # the trash, pointed at a temporary folder
    groups = [json.loads(line) for line in run("duplicates", "--json", home=isolated_home).stdout.splitlines()]
    doomed = [o["path"] for g in groups for o in g["others"]]
    out = run("duplicates", "--apply", "trash", home=isolated_home, XDG_DATA_HOME=str(trash_home)).stdout
    assert "3 file(s) of 3 group(s) moved to the trash" in out
    for path in doomed:
        assert not os.path.exists(path)
        trashed = trash_home / "Trash" / "files" / os.path.basename(path)
        info = trash_home / "Trash" / "info" / (os.path.basename(path) + ".trashinfo")
        assert trashed.exists() and "Path=" in info.read_text()  # a file manager can restore it too
    for g in groups:
        assert os.path.exists(g["keep"])  # the kept photo is never touched
    assert run("duplicates", "--json", home=isolated_home).stdout.strip() == ""
    stats = json.loads(run("stats", "--json", home=isolated_home).stdout)
    assert stats["photos"]["missing"] == 3  # their vectors are kept
    out = run("duplicates", "--undo", home=isolated_home, XDG_DATA_HOME=str(trash_home)).stdout
    assert out.count("put back") == 3 and all(os.path.exists(p) for p in doomed)
    assert not list((trash_home / "Trash" / "info").iterdir())
    assert len(run("duplicates", "--json", home=isolated_home).stdout.splitlines()) == 3
    assert "0 embedded" in run("index", home=isolated_home).stdout  # back without embedding


def test_move_others_to_a_folder_spares_reference_folders(isolated_home, planted, tmp_path):
    folder, originals = planted
    target = tmp_path / "review"
    run("duplicates", "--apply", f"move:{target}", "--reference", folder, home=isolated_home)
    assert not target.exists() or not list(target.iterdir())  # everything is in a reference folder
    run("duplicates", "--apply", f"move:{target}", home=isolated_home)
    assert sorted(p.name for p in target.iterdir()) == sorted(f"small-{p.stem}.jpg" for p in originals[:3])
    run("duplicates", "--undo", home=isolated_home)
    assert not list(target.iterdir())
    proc = run("duplicates", "--undo", home=isolated_home, check=False)
    assert proc.returncode == 1 and "nothing to undo" in proc.stderr


def test_find_copies_of_one_photo_in_the_app(qtbot, isolated_home, planted, tmp_path):
    from PySide6.QtCore import QSettings

    from photosearch.core.app import App
    from photosearch.core.library.paths import app_dirs
    from photosearch.ui.main_window import MainWindow

    folder, originals = planted
    w = MainWindow(App(dirs=app_dirs(isolated_home), device="cpu"),
                   QSettings(str(tmp_path / "g.ini"), QSettings.Format.IniFormat), auto_index=False)
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.library is not None)
    original = str(folder / originals[1].name)
    photo_id = w.library.catalog.photo_by_path(original).id
    w.model.set_results([photo_id], [1.0], [original])
    menu = w.result_actions.build_context_menu([0])
    action = next(a for a in menu.actions() if a.text() == "Find copies of this photo")
    with qtbot.waitSignal(w.results_ready, timeout=20000) as blocker:
        action.trigger()
    assert blocker.args == [1] and w.model.path_at(0) == str(folder / "trip" / f"small-{originals[1].stem}.jpg")
    assert "1 copy of this photo" in w.message.text()
    with qtbot.waitSignal(w.results_ready, timeout=20000) as blocker:  # refining keeps it a copies search
        w.options.k_box.setValue(5)
    assert blocker.args == [1]
    w.close()


def test_keep_rules_capture_date_camera_original_preferred_folder_and_the_users_choice():
    # same resolution and size: the older capture date wins, whatever the file dates say
    newer_file = Candidate(1, "/a/1.jpg", 10, 0, 10, 10, taken=1e9)
    older_shot = Candidate(2, "/a/2.jpg", 10, 10**18, 10, 10, taken=5e8)
    assert choose([newer_file, older_shot])[0] is older_shot
    # same date too: the camera original over an export and a screenshot
    export = Candidate(3, "/a/export.jpg", 10, 0, 10, 10, taken=5e8)
    shot = Candidate(4, "/a/Screenshot 1.png", 10, 0, 10, 10, taken=5e8, camera="Canon")
    original = Candidate(5, "/a/IMG_0001.jpg", 10, 0, 10, 10, taken=5e8, camera="Canon EOS")
    assert choose([shot, export, original])[0] is original
    assert choose([shot, export])[0] is export
    # a preferred folder comes before the rules, the user's own choice before that
    big = Candidate(6, "/a/big.jpg", 10, 0, 4000, 3000)
    small = Candidate(7, "/keep/small.jpg", 10, 0, 10, 10)
    assert choose([big, small], prefer=["/keep"])[0] is small
    chosen = Candidate(8, "/a/mine.jpg", 10, 0, 5, 5, chosen=True)
    assert choose([big, small, chosen], prefer=["/keep"])[0] is chosen
    with_ref = choose([big, chosen, small], reference=["/keep"])
    assert with_ref[0] is small  # a reference folder is never removed, whatever was chosen


def test_pairs_are_stored_and_only_new_photos_are_looked_at(isolated_home, planted):
    from photosearch.core.app import App
    from photosearch.core.duplicates.finder import find_duplicates
    from photosearch.core.duplicates.pairs import update_pairs
    from photosearch.core.library.paths import app_dirs

    folder, originals = planted
    app = App(dirs=app_dirs(isolated_home), device="cpu")
    with app.libraries.open("lib", write=True) as lib:
        assert update_pairs(lib) == 27  # the first time: every photo
        assert update_pairs(lib) == 0  # nothing new: nothing looked at
        stored = lib.catalog.conn.execute("SELECT COUNT(*) FROM dup_pairs").fetchone()[0]
        assert stored >= 3
        assert lib.catalog.conn.execute("SELECT COUNT(*) FROM regions").fetchone()[0] == 27
    img = Image.open(originals[4]).convert("RGB")  # one more copy, of a photo with none yet
    img.transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(folder / "trip" / "mirrored.jpg", quality=80)
    run("index", home=isolated_home)
    with app.libraries.open("lib", write=True) as lib:
        assert update_pairs(lib) == 1  # only the new photo's neighbourhood
        groups = find_duplicates(lib, "copies")
    assert len(groups) == 4
    assert any(os.path.basename(c.path) == "mirrored.jpg" for g in groups for c, _ in g.others)


def test_turned_and_thumbnail_copies_are_copies_and_old_records_get_glances(isolated_home, planted):
    """The model's features change under a 90-degree turn or a shrink to a thumbnail; the glances
    still see the same picture. Records written before glances are completed once, on the way."""
    from photosearch.core.app import App
    from photosearch.core.duplicates.finder import find_duplicates
    from photosearch.core.library.paths import app_dirs
    from photosearch.core.vision.regions import BLOB_BYTES, FULL_BYTES

    folder, originals = planted
    img = Image.open(originals[5]).convert("RGB")
    img.transpose(Image.Transpose.ROTATE_90).save(folder / "trip" / "turned.jpg", quality=85)
    img.resize((img.width // 6, img.height // 6)).save(folder / "trip" / "thumb.jpg", quality=85)
    run("index", home=isolated_home)
    app = App(dirs=app_dirs(isolated_home), device="cpu")
    with app.libraries.open("lib", write=True) as lib:
        sizes = {len(d) for (d,) in lib.catalog.conn.execute("SELECT data FROM regions")}
        assert sizes == {FULL_BYTES}  # indexing stores glances with the regions
        groups = find_duplicates(lib, "copies")
        with_orig = next(g for g in groups if any(os.path.basename(c.path) == originals[5].name for c in g.members))
        assert {"turned.jpg", "thumb.jpg"} <= {os.path.basename(c.path) for c in with_orig.members}
    said = json.loads(run("compare", folder / "trip" / "turned.jpg", folder / originals[5].name, "--json",
                          home=isolated_home).stdout)
    assert said["whole_picture"] and said["level"] == "copies"  # Compare says why the map is patchy
    assert not json.loads(run("compare", folder / originals[4].name, folder / originals[5].name, "--json",
                              home=isolated_home).stdout)["whole_picture"]
    with app.libraries.open("lib", write=True) as lib:
        # as a library from before glances: records cut to their regions, pairs to be redone
        with lib.catalog.transaction() as c:
            c.execute("UPDATE regions SET data = substr(data, 1, ?)", (BLOB_BYTES,))
            c.execute("DELETE FROM meta WHERE key = 'dup_seq'")
            c.execute("DELETE FROM dup_pairs")
        without = find_duplicates(lib, "copies")  # no model at hand: regions only, nothing decoded
        assert not any(os.path.basename(c.path) == "turned.jpg" for g in without for c in g.members)
        with lib.catalog.transaction() as c:
            c.execute("DELETE FROM meta WHERE key = 'dup_seq'")
            c.execute("DELETE FROM dup_pairs")
        again = find_duplicates(lib, "copies", fill_regions=app.region_source(lib))
        assert any(os.path.basename(c.path) == "turned.jpg" for g in again for c in g.members)
        filled = lib.catalog.conn.execute("SELECT COUNT(*) FROM regions WHERE length(data) = ?", (FULL_BYTES,))
        assert 0 < filled.fetchone()[0] < 29  # only the photos met on the way were decoded


def test_a_re_embedded_photo_keeps_the_pairs_found_from_its_partners_side(isolated_home, planted, monkeypatch):
    """Issue 19 item 9: a photo with a new vector loses its pairs; those its own neighbourhood
    does not find again (found from the partner's side only) are scored again, not lost."""
    from photosearch.core.app import App
    from photosearch.core.duplicates import pairs as pairs_mod
    from photosearch.core.library.paths import app_dirs
    from photosearch.core.library.records import Indexed

    folder, originals = planted
    app = App(dirs=app_dirs(isolated_home), device="cpu")
    with app.libraries.open("lib", write=True) as lib:
        pairs_mod.update_pairs(lib)
        x = lib.catalog.photo_by_path(str(folder / originals[0].name)).id
        c = lib.catalog.photo_by_path(str(folder / "trip" / f"small-{originals[0].stem}.jpg")).id
        key = (min(x, c), max(x, c))
        assert lib.catalog.conn.execute("SELECT 1 FROM dup_pairs WHERE a=? AND b=?", key).fetchone()
        _, vec = lib.catalog.vectors([x])
        blob = pairs_mod.regions(lib, [x])[x]
        lib.catalog.store([Indexed(x, 1, 1, "fp-x", 10, 10, vec[0], None, blob)], [])  # x gets a (new) vector
        lib.index.catch_up(lib.catalog)
        real = lib.index.neighbours

        def without_c(vecs, k, ef):  # x's own neighbourhood no longer lists c
            near = real(vecs, k, ef)
            return np.where(near == c, -1, near)

        monkeypatch.setattr(lib.index, "neighbours", without_c)
        assert pairs_mod.update_pairs(lib) == 1
        assert lib.catalog.conn.execute("SELECT 1 FROM dup_pairs WHERE a=? AND b=?", key).fetchone()


def test_every_member_is_proven_against_the_photo_kept(isolated_home, planted):
    """When the rules keep another photo than the group's centre (pictures within 3 % are the
    same size, and the bigger file wins), every other member is verified against the one kept."""
    from photosearch.core.app import App
    from photosearch.core.duplicates.finder import find_duplicates
    from photosearch.core.library.paths import app_dirs

    folder, originals = planted
    img = Image.open(originals[7]).convert("RGB")
    img.resize((img.width * 99 // 100, img.height * 99 // 100)).save(folder / "trip" / "fine.png")
    img.resize((img.width // 3, img.height // 3)).save(folder / "trip" / "thumb.jpg", quality=80)
    run("index", home=isolated_home)
    app = App(dirs=app_dirs(isolated_home), device="cpu")
    with app.libraries.open("lib", write=True) as lib:
        groups = find_duplicates(lib, "copies", rules=("resolution", "size", "path"),
                                 fill_pixels=app.pixel_source(lib))
        g = next(g for g in groups if any(os.path.basename(c.path) == "fine.png" for c in g.members))
        assert os.path.basename(g.keep.path) == "fine.png"  # same size as the original, bigger file
        for other, _ in g.others:
            a, b = sorted((g.keep.id, other.id))
            verdict = lib.catalog.conn.execute("SELECT verdict FROM dup_pairs WHERE a=? AND b=?", (a, b)).fetchone()
            assert verdict is not None and verdict[0] >= 2, os.path.basename(other.path)
            assert g.evidence[other.id].startswith("an edited copy")
        assert {os.path.basename(c.path) for c, _ in g.others} == {originals[7].name, "thumb.jpg"}


def test_a_library_indexed_before_pixel_records_is_completed_on_the_way(isolated_home, planted):
    """Without pixel records nothing is proven (no copies claimed); the photos grouping meets are
    decoded once, their records stored, and then their copies are proven."""
    from photosearch.core.app import App
    from photosearch.core.duplicates.finder import find_duplicates
    from photosearch.core.library.paths import app_dirs

    folder, originals = planted
    app = App(dirs=app_dirs(isolated_home), device="cpu")
    with app.libraries.open("lib", write=True) as lib:
        with lib.catalog.transaction() as c:  # as a library from before schema 7
            c.execute("DELETE FROM pictures")
            c.execute("UPDATE dup_pairs SET verdict = NULL, evidence = NULL")
        assert find_duplicates(lib, "copies") == []  # nothing to prove copies with
        assert lib.catalog.conn.execute("SELECT COUNT(*) FROM dup_pairs WHERE verdict IS NOT NULL").fetchone()[0] == 0
        groups = find_duplicates(lib, "copies", fill_pixels=app.pixel_source(lib))
        assert len(groups) == 3
        stored = lib.catalog.conn.execute("SELECT COUNT(*) FROM pictures").fetchone()[0]
        assert 6 <= stored < 27  # the photos met, not the whole library


def _groups_keeping_x(make_lib, isolated_home, monkeypatch, layout, met, proven):
    """The groups of `layout` from pairs `met` (photo names), `proven` ones reaching the level,
    r tried first as a centre and x kept wherever it is a member (as the rules may: sizes in one
    step of the grouping order, twins): [the members' names] per group."""
    from photosearch.core.app import App
    from photosearch.core.duplicates import finder
    from photosearch.core.duplicates.grouping import Pair
    from photosearch.core.duplicates.keep import DEFAULT_RULES, choose
    from photosearch.core.duplicates.verdicts import Verifier
    from photosearch.core.library.paths import app_dirs

    make_lib(layout)
    app = App(dirs=app_dirs(isolated_home), device="cpu")
    with app.libraries.open("lib", write=True) as lib:
        ids = {os.path.basename(p): i for i, p in lib.catalog.conn.execute("SELECT id, path FROM photos")}
        monkeypatch.setattr(finder, "preference", lambda c, *a: (0 if c.id == ids["r.jpg"] else 1, c.id))

        def keep_x(members, *args):
            keep, others, protected = choose(members, *args)
            mine = next((c for c in members if c.id == ids["x.jpg"]), None)
            return (mine, [c for c in members if c is not mine], protected) if mine else (keep, others, protected)

        monkeypatch.setattr(finder, "choose", keep_x)
        yes = {frozenset((ids[a], ids[b])) for a, b in proven}
        pairs = [Pair(min(ids[a], ids[b]), max(ids[a], ids[b]), 0.9, 0.9) for a, b in met]
        info = finder._candidates(lib, set(ids.values()))
        groups = finder._groups(lib, "copies", pairs, info, lambda asked: [frozenset(p) in yes for p in asked],
                                Verifier(lib), DEFAULT_RULES, [], [])
    return [[c.path for c in g.members] for g in groups]


def test_a_member_that_fails_against_the_photo_kept_still_groups_with_its_own_copies(make_lib, isolated_home,
                                                                                    monkeypatch):
    """The star around r takes x and y; the rules keep x, not the centre; y is no copy of x and
    leaves. y and its own copy z must still make a group: y was taken by the star, and z met
    nobody else."""
    met = [("r.jpg", "x.jpg"), ("r.jpg", "y.jpg"), ("y.jpg", "z.jpg")]
    groups = _groups_keeping_x(make_lib, isolated_home, monkeypatch, {"r.jpg": 1, "x.jpg": 2, "y.jpg": 3, "z.jpg": 4},
                               met, met)
    seen = [{os.path.basename(p) for p in g} for g in groups]
    assert {"r.jpg", "x.jpg"} in seen  # y left: no copy of the photo kept
    assert {"y.jpg", "z.jpg"} in seen, seen


def test_a_released_member_never_puts_a_file_in_two_groups(make_lib, isolated_home, monkeypatch):
    """As above, with f and a link l to it: the star around r keeps x, y leaves; in the next round
    y and l (a link to f, grouped with x already) must not make a group: a link is its file."""
    met = [("r.jpg", "x.jpg"), ("r.jpg", "y.jpg"), ("r.jpg", "f.jpg"), ("r.jpg", "l.jpg"), ("y.jpg", "f.jpg"),
           ("y.jpg", "l.jpg")]
    # y: a copy of r and of f (so of its link), not of x; f: a copy of r and of x
    proven = met + [("x.jpg", "f.jpg"), ("x.jpg", "l.jpg")]
    groups = _groups_keeping_x(make_lib, isolated_home, monkeypatch,
                               {"r.jpg": 1, "x.jpg": 2, "y.jpg": 3, "f.jpg": 4, "l.jpg": "->f.jpg"}, met, proven)
    files = [os.path.basename(os.path.realpath(p)) for g in groups for p in g]
    assert len(files) == len(set(files)), [[os.path.basename(p) for p in g] for g in groups]
    assert any({"x.jpg", "f.jpg"} <= {os.path.basename(os.path.realpath(p)) for p in g} for g in groups)
