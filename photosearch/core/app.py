"""Build the parts for a front end: one place that knows how they fit together.

Front ends (command line, GUI, tests) create an `App` and ask it for libraries,
models and embedders; nothing here is global, so tests substitute any part.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .embedder import Embedder
from .errors import ModelError
from .library import Libraries, Library
from .models import ModelSpec, cached_sha256, load_model_spec
from .paths import AppDirs, app_dirs


@dataclass
class App:
    dirs: AppDirs = field(default_factory=app_dirs)
    device: str = "auto"

    def __post_init__(self):
        self.libraries = Libraries(self.dirs)
        self._embedders: dict[tuple[str, str], Embedder] = {}

    def model_spec(self, path: str | Path) -> ModelSpec:
        path = Path(path).expanduser()
        if not path.is_file():
            raise ModelError(f"model file not found: {path}")
        digest = cached_sha256(path, self.dirs.prepared_models)
        return load_model_spec(path, self.dirs.prepared_models, sha256=digest)

    def library_model_path(self, library: Library, override: str | Path | None = None) -> Path:
        if override:
            return Path(override).expanduser()
        model = library.config.model
        if model and model.get("path"):
            return Path(model["path"])
        default = self.libraries.settings().get("default_model")
        if default:
            return Path(default)
        raise ModelError(
            f"library {library.name!r} has no model yet; give one with --model FILE.onnx"
        )

    def embedder(self, spec: ModelSpec, device: str | None = None) -> Embedder:
        """An embedder per model and device, created once (sessions are expensive)."""
        key = (spec.sha256 + str(spec.preprocess), device or self.device)
        if key not in self._embedders:
            self._embedders[key] = Embedder(spec, device=device or self.device)
        return self._embedders[key]

    def embedder_for(self, library: Library, override: str | Path | None = None) -> Embedder:
        spec = self.model_spec(self.library_model_path(library, override))
        expected = (library.config.model or {}).get("sha256")
        if override is None and expected and spec.sha256 != expected:
            raise ModelError(
                f"the model file {spec.path} changed since library {library.name!r} was indexed; "
                "restore it or re-index with 'photosearch index --reindex'"
            )
        return self.embedder(spec)
