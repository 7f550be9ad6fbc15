"""Regions and pixel records for photos indexed before photosearch stored them (libraries from
before schema 6, glances for records from before glances, pixel records before schema 7): the
duplicates' checks ask for the few photos they meet, once; they are then stored. This is the one
place finding duplicates decodes a photo, and only in an older library."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..library.libraries import Library
from ..vision.descriptor import Descriptor
from ..vision.glance import content_box, glance_of
from ..vision.imageio import decode
from ..vision.pixels import NEED as PIXELS_NEED
from ..vision.pixels import pixels_of
from .indexer import indexing_need


def fill_regions(library: Library, descriptor: Descriptor, ids: list[int], workers: int = 2,
                 batch: int = 16) -> dict[int, bytes]:
    """Regions of these photos, computed with the library's own model; a photo that cannot be
    read now (moved, unreadable) is left out and simply gets no spatial credit."""
    if not descriptor.config.needs_feature_map:
        return {}  # a descriptor without the feature map has no regions to give
    paths = dict(library.catalog.select_in("SELECT id, path FROM photos WHERE id IN", ids))

    def load(pid: int) -> tuple[int, list[np.ndarray], bytes] | None:
        try:
            img = decode(paths[pid], need=indexing_need(descriptor), thumbnail=True).image  # as indexing does
            return pid, descriptor.prepare(img), glance_of(img)
        except Exception:  # the file's problem: no regions for it, nothing else lost
            return None

    out: dict[int, bytes] = {}
    todo = [i for i in ids if i in paths]
    with ThreadPoolExecutor(workers) as pool:
        for start in range(0, len(todo), batch):
            got = [r for r in pool.map(load, todo[start:start + batch]) if r is not None]
            if not got:
                continue
            emb = descriptor.run([views for _, views, _ in got])
            for (pid, _, glance), blob in zip(got, emb.regions or []):
                out[pid] = blob + glance
    return out


def fill_pixels(library: Library, ids: list[int], workers: int = 2) -> dict[int, bytes]:
    """Pixel records of these photos, decoded from their files; a photo that cannot be read now
    is left out (nothing proves its copies until it can be)."""
    paths = dict(library.catalog.select_in("SELECT id, path FROM photos WHERE id IN", ids))

    def load(pid: int) -> tuple[int, bytes] | None:
        try:
            decoded = decode(paths[pid], need=PIXELS_NEED, thumbnail=True)  # as indexing does
            img = decoded.image
            return pid, pixels_of(img, content_box(img), (decoded.width, decoded.height))
        except Exception:  # the file's problem: no record for it, nothing else lost
            return None

    with ThreadPoolExecutor(workers) as pool:
        return dict(r for r in pool.map(load, [i for i in ids if i in paths]) if r is not None)
