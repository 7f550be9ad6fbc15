"""The indexing pipeline: scan -> decode pool -> batched embedding -> catalog + index.

Decoding (Pillow, mostly outside the GIL) runs in a bounded thread pool that stays
a few batches ahead of the model; the model runs batches on this thread and ONNX
Runtime spreads each batch over all cores. Results are committed batch by batch,
so a cancel or a crash loses at most the batch in flight, and the next run picks
up the photos still marked pending.
"""

from __future__ import annotations

import collections
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import LibraryIncompatible, storage_error
from ..index.vector_index import VectorIndex
from ..library.catalog import Catalog, Failed, Indexed
from ..library.libraries import Library
from ..vision.descriptor import Descriptor, DescriptorConfig
from ..vision.embedder import Embedder, default_threads
from ..vision.glance import NEED as GLANCE_NEED
from ..vision.glance import content_box, glance_of
from ..vision.imageio import Need, decode, describe_error
from ..vision.pixels import NEED as PIXELS_NEED
from ..vision.pixels import pixels_of
from .scanner import ScanOptions, ScanResult, fingerprint_bytes, scan

TOP_LABELS = 5


@dataclass
class Progress:
    phase: str  # "scanning", "indexing", "saving", "done"
    done: int = 0
    total: int = 0
    failed: int = 0
    rate: float = 0.0  # photos per second
    eta: float | None = None  # seconds
    current: str | None = None
    message: str | None = None


@dataclass
class IndexSummary:
    added: int = 0
    changed: int = 0
    moved: int = 0
    removed: int = 0  # left the library (its folder removed, excluded): forgotten
    missing: int = 0  # newly not found: kept, with their vectors, out of results
    returned: int = 0  # missing photos found again: searchable, nothing embedded
    unchanged: int = 0
    embedded: int = 0
    failed: int = 0
    vanished: int = 0
    cancelled: bool = False
    seconds: float = 0.0
    embed_seconds: float = 0.0  # time inside the model
    pipeline_seconds: float = 0.0  # decode + embed + store, from first file to last
    provider: str = ""
    precision: str = "fp32"
    problems: list[tuple[str, str]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # the catalog's photos by status, at the end

    @property
    def pipeline_rate(self) -> float:
        """Photos per second through the whole pipeline (scan and start-up excluded)."""
        return self.embedded / self.pipeline_seconds if self.pipeline_seconds > 0 else 0.0

    @property
    def rate(self) -> float:
        return self.pipeline_rate


@dataclass
class _Decoded:
    id: int
    path: str
    tensor: list[np.ndarray] | None = None  # the model inputs (views) of the photo
    size: int = 0
    mtime_ns: int = 0
    fingerprint: str | None = None
    width: int = 0
    height: int = 0
    error: str | None = None
    vanished: bool = False
    taken: float | None = None
    camera: str = ""
    glance: bytes = b""
    pixels: bytes | None = None


def indexing_need(descriptor: Descriptor) -> Need:
    """The smallest picture of a photo that indexing works from: the one place that says it. Each
    record indexing keeps of a photo adds its own need: the model's views (and the regions, read
    from the full-size view's feature map) and the glances. The decoder follows it (JPEG draft, box
    reduction), and so does the rule for the thumbnail a HEIF or AVIF file carries: taken only
    when it meets it. A new record made from the decoded photo adds its need here (the pixel
    record, vision/pixels.py, did)."""
    return descriptor.need | GLANCE_NEED | PIXELS_NEED


def load_for_model(photo_id: int, path: str, descriptor: Descriptor) -> _Decoded:
    """Read, fingerprint, decode and prepare the model inputs of one file (runs in a pool thread)."""
    out = _Decoded(photo_id, path)
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            data = f.read()
    except FileNotFoundError:
        out.vanished = True
        return out
    except OSError as exc:
        # size and mtime stay 0: permissions get fixed without touching the file,
        # so the next scan sees a "change" and tries it again
        out.error = describe_error(exc)
        return out
    # size and mtime of what was actually read, so a file rewritten meanwhile is
    # seen as changed on the next scan
    out.size, out.mtime_ns = len(data), st.st_mtime_ns
    out.fingerprint = fingerprint_bytes(data)
    if not data:
        out.error = "empty file"
        return out
    try:
        decoded = decode(data, need=indexing_need(descriptor), name=path, thumbnail=True)
    except Exception as exc:  # any decoder failure is the file's problem, not ours
        out.error = describe_error(exc)
        return out
    # Preparing the model input is our code: an exception here is a bug, not the file's
    # fault. It stops indexing (raised again by the future) and the photo stays pending,
    # so a fixed photosearch indexes it instead of it being recorded as unreadable.
    out.tensor = descriptor.prepare(decoded.image)
    out.width, out.height = decoded.width, decoded.height
    out.taken, out.camera = decoded.taken, decoded.camera
    box = content_box(decoded.image)
    out.glance = glance_of(decoded.image, box)
    out.pixels = pixels_of(decoded.image, box, (decoded.width, decoded.height))
    return out


def top_labels(logits: np.ndarray, k: int = TOP_LABELS) -> list[list[tuple[int, float]]]:
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    top = np.argsort(-p, axis=1)[:, :k]
    return [[(int(c), float(p[i, c])) for c in row] for i, row in enumerate(top)]


class _Clock:
    """Photos per second over the last few seconds (a whole-run average hides slowdowns)."""

    def __init__(self, now: Callable[[], float]):
        self.now = now
        self.start = now()
        self.window: collections.deque[tuple[float, int]] = collections.deque(maxlen=64)

    def rate(self, done: int) -> float:
        t = self.now()
        self.window.append((t, done))
        t0, d0 = self.window[0]
        if t - t0 > 0.5:
            return (done - d0) / (t - t0)
        return done / (t - self.start) if t > self.start else 0.0


def as_descriptor(model: Embedder | Descriptor) -> Descriptor:
    return model if isinstance(model, Descriptor) else Descriptor(model)


def apply_model(library: Library, model: Embedder | Descriptor) -> None:
    """Record the model in a new library, or refuse a library built with another."""
    descriptor = as_descriptor(model)
    embedder = descriptor.embedder
    config = library.config
    spec = embedder.spec
    wanted = descriptor.config.to_dict()
    recorded = DescriptorConfig.from_dict(config.descriptor) if config.descriptor else None
    if recorded is not None and recorded != descriptor.config and library.catalog.vector_count():
        raise LibraryIncompatible(
            f"library {config.name!r} was indexed with other descriptor settings; "
            "re-index it (photosearch index --reindex) to use the new ones"
        )
    precision = descriptor.precision
    if config.precision_used and config.precision_used != precision and library.catalog.vector_count():
        raise LibraryIncompatible(
            f"library {config.name!r} was indexed with the model at {config.precision_used}, not {precision}; "
            f"re-index it (photosearch index --reindex --precision {precision}) or keep "
            f"--precision {config.precision_used}"
        )
    if config.model and config.model.get("sha256") != spec.sha256 and library.catalog.vector_count():
        raise LibraryIncompatible(
            f"library {config.name!r} was indexed with model {config.model.get('name')!r}, not {spec.name!r}; "
            "re-index it with the new model (photosearch index --reindex) or use the old model"
        )
    if (config.model is None or config.model.get("sha256") != spec.sha256 or config.dim != descriptor.dim
            or recorded != descriptor.config or config.precision_used != precision):
        config.precision_used = precision
        config.model = spec.describe()
        config.dim = descriptor.dim
        config.descriptor = wanted
        library.catalog.dim = descriptor.dim
        library.drop_index()  # its dimension or whitening may no longer fit
        library.save_config()


def index_library(library: Library, model: Embedder | Descriptor, **kwargs: Any) -> IndexSummary:
    """Bring a library up to date with its folders. Safe to cancel, kill or run out of disk
    at any point: what was committed stays, and the next run does the rest.

    `model` is a Descriptor, or an Embedder (its own average-pooled output is used). `ahead`:
    photos already read and prepared for this descriptor, by path (App.take_decoded)."""
    try:
        return _index_library(library, as_descriptor(model), **kwargs)
    except (sqlite3.DatabaseError, OSError) as exc:
        raise storage_error(f"the storage of library {library.name!r}", exc) from exc


def _index_library(
    library: Library,
    descriptor: Descriptor,
    *,
    cancel: threading.Event | None = None,
    pause: threading.Event | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    rescan: bool = True,
    workers: int | None = None,
    checkpoint_seconds: float = 30.0,
    now: Callable[[], float] = time.monotonic,
    ahead: dict[str, _Decoded] | None = None,
) -> IndexSummary:
    if not library.writable:
        raise ValueError("index_library needs a library opened for writing")
    cancel = cancel or threading.Event()
    report = on_progress or (lambda p: None)
    summary = IndexSummary(provider=descriptor.embedder.provider, precision=descriptor.precision)
    started = now()
    catalog = library.catalog

    apply_model(library, descriptor)
    index = library.ensure_index()
    summary.notices.extend(library.notices)

    if rescan and not scan_library(library, summary, cancel, report, index):
        summary.cancelled = True  # a partial walk must not be mistaken for deletions
        summary.counts = catalog.counts()
        summary.seconds = now() - started
        return summary

    todo = catalog.pending()
    t0 = now()
    _embed_all(library, index, descriptor, todo, summary, cancel, pause, report,
               workers or default_threads(), checkpoint_seconds, now, ahead or {})
    summary.pipeline_seconds = now() - t0

    _refit(index, catalog, report)
    report(Progress("saving", done=summary.embedded, total=len(todo), failed=summary.failed,
                    message="Saving the search index"))
    index.save(catalog)
    summary.counts = catalog.counts()
    summary.seconds = now() - started
    report(Progress("done", done=summary.embedded + summary.failed, total=len(todo), failed=summary.failed,
                    rate=summary.rate))
    return summary


def scan_library(library: Library, summary: IndexSummary | None = None, cancel: threading.Event | None = None,
                 report: Callable[[Progress], None] = lambda p: None, index: VectorIndex | None = None) -> bool:
    """Bring the catalog up to date with the folders (no embedding). False if cancelled."""
    summary = summary or IndexSummary()
    catalog, config = library.catalog, library.config
    report(Progress("scanning", message="Looking for new and changed photos"))
    result = scan(
        config.roots,
        catalog.known(),
        ScanOptions(exclude=config.exclude, skip_hidden=config.skip_hidden),
        cancel=cancel,
        on_file=lambda n: report(Progress("scanning", done=n, message=f"Found {n} photos")),
    )
    if cancel is not None and cancel.is_set():
        return False
    catalog.move((i, f.path, f.mtime_ns) for i, f in result.moved)
    _apply_scan(catalog, index, result, summary)
    catalog.add_pending((f.path, f.size, f.mtime_ns) for f in result.new)
    catalog.mark_pending((i, f.size, f.mtime_ns) for i, f in result.changed)
    catalog.set_scan_problems(result.problems)
    catalog.set_companions(result.companions)
    summary.added, summary.changed = len(result.new), len(result.changed)
    summary.moved = len(result.moved)
    summary.unchanged, summary.problems = result.unchanged, result.problems
    return True


def _apply_scan(catalog: Catalog, index: VectorIndex | None, result: ScanResult, summary: IndexSummary) -> None:
    """Photos back, gone (kept as missing) and left out of the library, in catalog and index."""
    if result.returned:
        seq = catalog.restore(result.returned)
        ids, vecs = catalog.vectors(result.returned)
        if index is not None:
            index.add(ids, vecs)
            index.note_seq(seq)
        summary.returned = len(ids)
    if result.removed:
        catalog.remove(result.removed)
        if index is not None:
            index.remove(result.removed)
            index.note_seq(catalog.seq)
        summary.removed += len(result.removed)
    if result.gone:
        missing, removed = catalog.mark_missing(result.gone)
        if index is not None:
            index.remove(missing)
            index.note_seq(catalog.seq)
        summary.missing += len(missing)
        summary.removed += len(removed)


def _refit(index: VectorIndex, catalog: Catalog, report: Callable[[Progress], None]) -> None:
    # whitening learned from the library, again each time it doubles: O(n) work in all
    if index.fit_due(catalog.live_vector_count()):
        report(Progress("saving", message="Tuning the search to this library's photos"))
        index.rebuild(catalog)


def _embed_all(library: Library, index: VectorIndex, descriptor: Descriptor, todo: list[tuple[int, str]],
               summary: IndexSummary, cancel: threading.Event, pause: threading.Event | None,
               report: Callable[[Progress], None], workers: int, checkpoint_seconds: float,
               now: Callable[[], float], ahead: dict[str, _Decoded]) -> None:
    if not todo:
        return
    catalog = library.catalog
    batch_size = descriptor.embedder.batch_size
    clock = _Clock(now)
    last_checkpoint = now()
    batch: list[_Decoded] = []
    failed: list[Failed] = []
    vanished: list[int] = []

    def flush() -> None:
        nonlocal batch, failed, vanished, last_checkpoint
        indexed: list[Indexed] = []
        if batch:
            t0 = now()
            out = descriptor.run([d.tensor for d in batch if d.tensor is not None])
            summary.embed_seconds += now() - t0
            labels = top_labels(out.logits) if out.logits is not None and out.logits.shape[1] >= 2 else None
            for i, d in enumerate(batch):
                indexed.append(Indexed(d.id, d.size, d.mtime_ns, d.fingerprint, d.width, d.height,
                                       out.vectors[i], labels[i] if labels else None,
                                       out.regions[i] + d.glance if out.regions else None, d.taken, d.camera,
                                       d.pixels))
        if indexed or failed:
            seq = catalog.store(indexed, failed)
            if indexed:
                index.add(np.array([r.id for r in indexed]), np.stack([r.vector for r in indexed]))
            index.remove([f.id for f in failed])
            index.note_seq(seq)
        if vanished:  # deleted or moved away between the scan and now: kept if it had a vector
            missing, _ = catalog.mark_missing(vanished)
            index.remove(missing)
            index.note_seq(catalog.seq)
        summary.embedded += len(indexed)
        summary.failed += len(failed)
        summary.vanished += len(vanished)
        batch, failed, vanished = [], [], []
        if now() - last_checkpoint >= checkpoint_seconds:
            _refit(index, catalog, report)
            report(Progress("saving", message="Saving a checkpoint"))
            index.save(catalog)
            last_checkpoint = now()

    window = max(2 * workers, 3 * batch_size)
    pending: collections.deque[Future[_Decoded]] = collections.deque()
    items = iter(todo)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="photosearch-decode") as pool:
        def top_up() -> None:
            while len(pending) < window:
                item = next(items, None)
                if item is None:
                    return
                known = ahead.pop(item[1], None)  # read already (the int8 model's calibration)
                if known is not None:
                    known.id = item[0]
                    pending.append(Future())
                    pending[-1].set_result(known)
                else:
                    pending.append(pool.submit(load_for_model, item[0], item[1], descriptor))

        try:
            top_up()
            while pending:
                if cancel.is_set():
                    summary.cancelled = True
                    break
                if pause is not None and pause.is_set():
                    pause_started = now()
                    while pause.is_set() and not cancel.is_set():
                        time.sleep(0.05)
                    clock.start += now() - pause_started
                    continue
                d = pending.popleft().result()
                top_up()
                if d.vanished:
                    vanished.append(d.id)
                elif d.error is not None:
                    failed.append(Failed(d.id, d.size, d.mtime_ns, d.fingerprint, d.error))
                else:
                    batch.append(d)
                if len(batch) >= batch_size or (not pending and (batch or failed or vanished)):
                    flush()
                    done = summary.embedded + summary.failed + summary.vanished
                    rate = clock.rate(done)
                    report(Progress("indexing", done=done, total=len(todo), failed=summary.failed, rate=rate,
                                    eta=(len(todo) - done) / rate if rate > 0 else None, current=d.path))
        finally:
            for f in pending:
                f.cancel()
        # on cancel, what was already decoded is not thrown away
        if batch or failed or vanished:
            flush()
