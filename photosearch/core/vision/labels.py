"""Keyword search over ImageNet classes, with WordNet synonyms and parents.

Each photo keeps its top ImageNet classes (from the logits the embedding pass
already computes). A word is looked up in WordNet: its most common sense that
covers ImageNet classes is taken, and every class under it counts, so "dog"
finds all 120 breeds and "car" finds sports cars, cabs and convertibles.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
from importlib import resources
from typing import Any


def _norm(text: str) -> str:
    return re.sub(r"[\s\-]+", "_", text.strip().lower())


def _singular(word: str) -> list[str]:
    forms = [word]
    for suffix, repl in (("ies", "y"), ("ves", "f"), ("es", ""), ("s", "")):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            forms.append(word[: -len(suffix)] + repl)
    return forms


class LabelIndex:
    def __init__(self, data: dict[str, Any]):
        self.classes: list[str] = data["classes"]  # class index -> WordNet offset
        self.synsets: dict[str, list[Any]] = data["synsets"]  # offset -> [lemmas, parents]
        self.senses: dict[str, list[str]] = data["senses"]  # lemma -> offsets, most common first
        self._class_of = {off: i for i, off in enumerate(self.classes)}
        self._ancestors = [self._closure(off) for off in self.classes]

    @classmethod
    @functools.lru_cache(maxsize=1)
    def load(cls) -> LabelIndex:
        raw = resources.files("photosearch.data").joinpath("imagenet_classes.json.gz").read_bytes()
        return cls(json.loads(gzip.decompress(raw)))

    def _closure(self, off: str) -> frozenset[str]:
        seen, stack = set(), [off]
        while stack:
            o = stack.pop()
            if o not in seen:
                seen.add(o)
                stack.extend(self.synsets.get(o, [[], []])[1])
        return frozenset(seen)

    def name(self, class_index: int) -> str:
        return self.synsets[self.classes[class_index]][0][0].replace("_", " ")

    def names(self, class_index: int) -> list[str]:
        return [w.replace("_", " ") for w in self.synsets[self.classes[class_index]][0]]

    def classes_under(self, offset: str) -> list[int]:
        return [i for i, anc in enumerate(self._ancestors) if offset in anc]

    def match(self, query: str) -> list[int]:
        """ImageNet class indices a word or phrase refers to (empty if none)."""
        q = _norm(query)
        if not q:
            return []
        for form in _singular(q):
            for offset in self.senses.get(form, []):
                found = self.classes_under(offset)
                if found:
                    return found
        return []
