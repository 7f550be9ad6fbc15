"""What a library holds, in one record both front ends show (the CLI prints it, the app's status bar)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..vision.descriptor import CONFIGS, DescriptorConfig
from .libraries import Library


@dataclass(frozen=True)
class FolderCount:
    folder: str
    photos: int


@dataclass(frozen=True)
class LibraryStats:
    library: str
    folders: list[str]
    folder_counts: list[FolderCount]
    storage: str
    photos: dict[str, int]  # status name -> count
    model: str | None
    model_sha256: str | None
    dimension: int | None
    index: dict[str, Any]
    searchable: int  # photos in the search index
    descriptor: str | None  # a CONFIGS name, "custom", or None before any vector
    whiten: bool  # the descriptor learns whitening from the library
    whitened_on: int  # photos the whitening was learned from (0: not tuned yet)
    precision: str  # the setting: auto, fp32, int8
    precision_used: str | None  # what the vectors were made with
    int8_check: dict[str, Any] | None  # the int8 model's check against fp32, when one was made

    def to_dict(self) -> dict[str, Any]:
        """The JSON form `photosearch stats --json` prints (its keys are an interface)."""
        d = asdict(self)
        d["indexed_in_search_index"] = d.pop("searchable")
        del d["folder_counts"], d["whiten"]
        return d


def descriptor_name(config: DescriptorConfig) -> str:
    return next((name for name, c in CONFIGS.items() if c == config), "custom")


def library_stats(library: Library) -> LibraryStats:
    config = library.config
    model = config.model or {}
    index = library.index if config.dim else None
    whitening = index.whitening if index is not None else None
    return LibraryStats(
        library=config.name,
        folders=list(config.roots),
        folder_counts=[FolderCount(r, library.catalog.count_under(r)) for r in config.roots],
        storage=str(library.folder),
        photos=library.catalog.counts(),
        model=model.get("name"),
        model_sha256=model.get("sha256"),
        dimension=config.dim,
        index=dict(config.index),
        searchable=index.live_count if index is not None else 0,
        descriptor=descriptor_name(library.descriptor) if config.dim else None,
        whiten=bool(library.descriptor.whiten),
        whitened_on=whitening.fitted_on if whitening is not None else 0,
        precision=config.precision,
        precision_used=config.precision_used,
        int8_check=(config.int8 or {}).get("verification"),
    )
