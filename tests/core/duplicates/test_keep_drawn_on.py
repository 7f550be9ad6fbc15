"""The photo a group keeps is not the copy something was drawn on (a caption, a logo), though the
keep rules, which see sizes and bytes, would keep it: a re-saved copy is often the bigger file."""

from __future__ import annotations

from PIL import Image, ImageDraw

from photosearch.core.duplicates.keep import drawn_on
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


def _library(make_lib, tmp_path, extra: bool):
    photos = tmp_path / "photos"
    photos.mkdir()
    picture = textured(31, (800, 600))
    picture.save(photos / "IMG_0001.jpg", quality=80)
    _captioned(picture).save(photos / "IMG_0001_blog.jpg", quality=97)  # the biggest file of the photo's size
    if extra:
        picture.resize((400, 300), Image.LANCZOS).save(photos / "IMG_0001_small.jpg", quality=85)
        picture.transpose(Image.FLIP_LEFT_RIGHT).save(photos / "IMG_0001_mirror.jpg", quality=80)
    make_lib({}, root=photos)
    return photos


def test_the_copy_with_a_caption_drawn_on_it_is_not_the_photo_kept(isolated_home, make_lib, tmp_path):
    photos = _library(make_lib, tmp_path, extra=True)
    assert (photos / "IMG_0001_blog.jpg").stat().st_size > (photos / "IMG_0001.jpg").stat().st_size
    [g] = groups(isolated_home, "--level", "copies")
    # the rules alone keep the caption (the biggest file); every other copy lacks it, so it was
    # drawn on that one; the original, which differs from it by nothing else, is kept instead
    assert g["keep"] == str(photos / "IMG_0001.jpg")
    assert {o["path"] for o in g["others"]} == {str(photos / n) for n in
                                                ("IMG_0001_blog.jpg", "IMG_0001_small.jpg", "IMG_0001_mirror.jpg")}
    # and so it stays when the groups are asked for again (the proofs are stored)
    assert groups(isolated_home, "--level", "copies") == [g]
    # the user's word over the pixels: a photo chosen to keep is kept, caption and all
    blog = str(photos / "IMG_0001_blog.jpg")
    run("duplicates", "--keep-photo", blog, home=isolated_home)
    assert groups(isolated_home, "--level", "copies")[0]["keep"] == blog


def test_of_two_copies_either_could_be_the_one_drawn_on_and_the_rules_decide(isolated_home, make_lib, tmp_path):
    photos = _library(make_lib, tmp_path, extra=False)
    [g] = groups(isolated_home, "--level", "copies")
    assert g["keep"] == str(photos / "IMG_0001_blog.jpg")


def test_drawn_on_asks_most_of_two_copies_or_more_to_lack_what_it_holds():
    assert drawn_on([0.05, 0.03])
    assert drawn_on([0.05, 0.03, 0.04, 0.0])  # a thumbnail too small to show the caption
    assert not drawn_on([0.05])  # one copy: either side could have been drawn on
    assert not drawn_on([0.05, 0.0, 0.0])  # only the copy drawn on differs: the photo kept is clean
    assert not drawn_on([])
