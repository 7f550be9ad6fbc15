"""Running searches off the GUI thread, and refining them: only the newest answer is shown."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImageReader, QPixmap

from ..core.errors import PhotosearchError
from ..core.search import Hit, Searcher, SearchResult
from .session import Session
from .view_options import ViewOptions
from .workers.job_runner import JobFailure, JobRunner


@dataclass
class Query:
    """The search on screen: the core's result (with its query vector) and how to caption it."""

    result: SearchResult
    caption: str = ""
    device: str = ""
    seconds: float = 0.0

    @property
    def hits(self) -> list[Hit]:
        return self.result.hits

    @property
    def exclude(self) -> tuple[int, ...]:
        return self.result.exclude

    @property
    def text(self) -> str | None:
        return self.result.text


class SearchController(QObject):
    query_started = Signal(object, str)  # QPixmap | None, caption
    hits_ready = Signal(object, str)  # Query, status message (a new search or a refinement)

    def __init__(self, session: Session, options: ViewOptions, parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self.options = options
        self.query: Query | None = None
        self.generation = 0
        self.runner = JobRunner("search", latest_only=True, parent=self)
        self.runner.done.connect(self._done)
        self.runner.failed.connect(self._failed)
        session.add_worker(self.runner)
        session.library_changed.connect(self._library_changed)
        options.refine_requested.connect(self.refine)

    def _library_changed(self, _library: object) -> None:
        self.generation += 1  # answers for the old library are dropped
        self.query = None

    def _searcher(self, need_model: bool) -> Searcher:
        lib = self.session.library
        if lib is None:
            raise PhotosearchError("Choose or create a library first")
        if not lib.writable:
            lib.refresh()
        return Searcher(lib, self.session.app.descriptor_for(lib) if need_model else None)

    def _submit(self, work: Callable[[], Query], caption: str | None, pixmap: QPixmap | None) -> int | None:
        if self.session.library is None:
            self.session.show_message("Choose or create a library first", error=True)
            return None
        self.generation += 1
        if caption is not None:
            self.query_started.emit(pixmap, caption)
        self.runner.submit(work, self.generation)
        return self.generation

    def search_sources(self, sources: Sequence[str | bytes]) -> int | None:
        """Search with outside images (paths or encoded bytes)."""
        if not sources:
            return None
        k, min_score = self.options.k(), self.options.min_score()
        first = sources[0]
        if isinstance(first, (bytes, bytearray)):
            pixmap = QPixmap()
            pixmap.loadFromData(bytes(first))
            caption = "Pasted image"
        else:
            reader = QImageReader(first)
            reader.setAutoTransform(True)
            pixmap = QPixmap.fromImage(reader.read())
            caption = first
        if len(sources) > 1:
            caption += f" and {len(sources) - 1} more"

        def work() -> Query:
            searcher = self._searcher(need_model=True)
            result = searcher.search_images(sources, k, min_score)
            return Query(result, caption, searcher.embedder.device if searcher.embedder else "")

        return self._submit(work, caption, pixmap)

    def search_photos(self, ids: Sequence[int], first: str = "", pixmap: QPixmap | None = None) -> int | None:
        """Find similar to photos of the library, from their stored vectors (`first`: the first one's path)."""
        if not ids:
            return None
        k, min_score = self.options.k(), self.options.min_score()
        caption = first + (f" and {len(ids) - 1} more" if len(ids) > 1 else "")

        def work() -> Query:
            return Query(self._searcher(need_model=False).search_photos(ids, k, min_score), caption)

        return self._submit(work, caption, pixmap)

    def search_copies(self, photo_id: int, path: str, pixmap: QPixmap | None = None) -> int | None:
        """The copies of one photo of the library (the duplicates' copies level around it)."""
        k, min_score = self.options.k(), self.options.min_score()

        def work() -> Query:
            return Query(self._searcher(need_model=False).search_copies(photo_id, "copies", k, min_score),
                         f"Copies of {path}")

        return self._submit(work, f"Copies of {path}", pixmap)

    def search_text(self, text: str) -> int | None:
        """Photos whose recognised subject matches a word (ImageNet classes and WordNet parents)."""
        text = text.strip()
        if not text:
            return None
        k, min_score = self.options.k(), max(0.0, self.options.min_score())

        def work() -> Query:
            return Query(self._searcher(need_model=False).search_text(text, k, min_score), f"“{text}”")

        return self._submit(work, f"Photos of “{text}”", None)

    def refine(self) -> int | None:
        """New result count or threshold: re-rank from the kept query, nothing re-embedded."""
        query = self.query
        if query is None or self.session.library is None:
            return None
        k, min_score = self.options.k(), self.options.min_score()

        def work() -> Query:
            result = self._searcher(need_model=False).refine(query.result, k, min_score)
            return Query(result, query.caption, query.device)

        return self._submit(work, None, None)

    def _done(self, generation: int, query: Query, seconds: float) -> None:
        if generation != self.generation:
            return
        query.seconds = seconds
        self.query = query
        n = len(query.hits)
        if query.result.copies_level is not None:
            message = (f"{n:,} {'copy' if n == 1 else 'copies'} of this photo · {seconds * 1000:.0f} ms" if n else
                       "No copies of this photo in the library (edited copies, not just similar photos)")
        else:
            kind = "matching" if query.text is not None else "similar"
            message = (f"{n:,} {kind} photos · {seconds * 1000:.0f} ms" if n else
                       f"No {kind} photos found (is the library indexed? try a lower minimum similarity)")
        self.hits_ready.emit(query, message)

    def _failed(self, generation: int, failure: JobFailure) -> None:
        if generation == self.generation:
            self.session.show_message(failure.message, error=True)
