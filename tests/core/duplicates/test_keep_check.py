"""A group whose photo kept differs by something drawn (a caption, a logo) from most of its copies
says so, for the user to look before trashing: the keep rules see sizes and bytes, and a copy with
a caption re-saved is often the bigger file. It never changes the photo kept (which side was drawn
on is not in the counts: an original whose copies all come from one captioned copy differs as
much)."""

from __future__ import annotations

from PIL import Image, ImageDraw

from photosearch.core.duplicates.keep import DRAWN_ON_WORDS, Candidate, drawn_on
from tests.core.duplicates.test_safety import groups
from tests.core.duplicates.test_verify import textured
from tests.test_cli import run


def _captioned(img: Image.Image) -> Image.Image:
    out = img.copy()
    d = ImageDraw.Draw(out)
    w, h = out.size
    d.rectangle([30, 40, 430, 80], fill=(250, 250, 250))  # a caption on its band, and a logo
    d.text((40, 52), "(c) somebody's blog 2026", fill=(20, 20, 20))
    d.rectangle([w - 170, h - 90, w - 10, h - 10], fill=(220, 40, 40))
    return out


def _library(make_lib, tmp_path, blog_quality: int, original_quality: int):
    photos = tmp_path / "photos"
    photos.mkdir()
    picture = textured(31, (800, 600))
    picture.save(photos / "IMG_0001.jpg", quality=original_quality)
    _captioned(picture).save(photos / "IMG_0001_blog.jpg", quality=blog_quality)
    picture.resize((400, 300), Image.LANCZOS).save(photos / "IMG_0001_small.jpg", quality=85)
    picture.transpose(Image.FLIP_LEFT_RIGHT).save(photos / "IMG_0001_mirror.jpg", quality=80)
    make_lib({}, root=photos)
    return photos


def test_a_group_keeping_the_copy_with_a_caption_says_to_look_first(isolated_home, make_lib, tmp_path):
    photos = _library(make_lib, tmp_path, blog_quality=97, original_quality=80)
    [g] = groups(isolated_home, "--level", "copies")
    blog = str(photos / "IMG_0001_blog.jpg")
    assert g["keep"] == blog  # the rules: one size, the bigger file
    assert g["check"] == DRAWN_ON_WORDS  # its three copies lack what it holds
    assert f"  look: {DRAWN_ON_WORDS}" in run("duplicates", "--level", "copies", home=isolated_home).stdout
    # the user looked and chose, even the captioned one: nothing more to say
    run("duplicates", "--keep-photo", blog, home=isolated_home)
    [g] = groups(isolated_home, "--level", "copies")
    assert g["keep"] == blog and "check" not in g


def test_a_group_keeping_the_original_has_nothing_to_say(isolated_home, make_lib, tmp_path):
    photos = _library(make_lib, tmp_path, blog_quality=80, original_quality=97)
    [g] = groups(isolated_home, "--level", "copies")
    assert g["keep"] == str(photos / "IMG_0001.jpg")
    assert str(photos / "IMG_0001_blog.jpg") in {o["path"] for o in g["others"]}
    assert "check" not in g  # one copy of three differs from it by something added: that copy


def test_drawn_on_asks_most_of_two_copies_or_more():
    assert drawn_on([0.05, 0.03])
    assert drawn_on([0.05, 0.03, 0.04, 0.0])  # a thumbnail too small to show the caption
    assert not drawn_on([0.05])  # one copy: either could have been drawn on
    assert not drawn_on([0.05, 0.0, 0.0])  # only the copy drawn on differs
    assert not drawn_on([])


def test_a_photo_kept_for_its_twin_at_the_centre_reads_the_centres_proofs(monkeypatch):
    # a reviewer's find: the photo kept may be the centre's lossless twin (the keep rules for the
    # same pixels), whose pairs with the members were never proven; the centre's say the same
    from types import SimpleNamespace

    from photosearch.core.duplicates import finder
    from photosearch.core.duplicates.grouping import Group
    from photosearch.core.duplicates.verdicts import key
    from photosearch.core.duplicates.verify import COPY, IDENTICAL

    centre = Candidate(1, "/p/blog.jpg", 900_000, 0, 800, 600)
    twin = Candidate(2, "/p/blog.png", 500_000, 0, 800, 600)  # lossless: kept over its lossy twin
    copies = [Candidate(i, f"/p/copy{i}.jpg", 100_000, 0, 800, 600) for i in (3, 4, 5)]
    info = {c.id: (c, None) for c in (centre, twin, *copies)}
    verdicts = {key(1, 2): IDENTICAL, **{key(1, c.id): COPY for c in copies}}
    lacking = {key(1, c.id): 0.09 for c in copies}  # the centre's proofs: each copy lacks the caption

    class Proofs:
        def stored(self, pairs):
            return {k: verdicts[k] for k in pairs if k in verdicts}

        def added(self, pairs):
            return {k: lacking[k] for k in pairs if k in lacking}

    monkeypatch.setattr(finder, "score_of", lambda library, pairs: {k: (1.0, 1.0) for k in pairs})
    library = SimpleNamespace(catalog=SimpleNamespace(select_in=lambda *a: []))  # no words stored
    star = Group(1, [1, 2, 3, 4, 5], {2: 1.0, 3: 0.96, 4: 0.96, 5: 0.96})
    group, _ = finder._finish(library, "copies", star, info, lambda pairs: [True] * len(pairs), Proofs(),
                              finder.DEFAULT_RULES, [], [], ())
    assert group is not None and group.keep is twin
    assert group.check == DRAWN_ON_WORDS
