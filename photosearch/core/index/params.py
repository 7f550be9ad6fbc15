"""The search index's settings, recorded in library.json."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ..config import load_dataclass

# Above this many photos the index holds PCA-reduced vectors (exact scores come from
# the stored full vectors): memory and speed stay flat as a library grows to millions.
AUTO_REDUCE_AT = 100_000
REDUCED_DIM = 256


@dataclass(frozen=True)
class IndexParams:
    M: int = 16
    ef_construction: int = 200
    ef_search: int = 96
    index_dim: int = 0  # 0: automatic (full dimension below AUTO_REDUCE_AT photos)
    rerank: int = 150  # candidates re-scored with full vectors when the index is reduced

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> IndexParams:
        return load_dataclass(cls, d, "the index settings")
