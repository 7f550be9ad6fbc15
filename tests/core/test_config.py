"""The one loader of settings files: unknown keys and wrong types are refused, by name."""

import json

import pytest

from photosearch.core.errors import ConfigError, LibraryIncompatible
from photosearch.core.index.vector_index import IndexParams
from photosearch.core.library.libraries import LibraryConfig
from photosearch.core.vision.descriptor import DEFAULT, DescriptorConfig


def test_round_trips_and_converts_json_lists_to_tuples():
    config = DescriptorConfig(pooling="gem", scales=(1.0, 0.75), thumb=128)
    loaded = DescriptorConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert loaded == config and isinstance(loaded.scales, tuple)
    assert IndexParams.from_dict(IndexParams(M=8).to_dict()) == IndexParams(M=8)
    assert DescriptorConfig.from_dict(None) == DEFAULT


@pytest.mark.parametrize("data, words", [
    ({"M": 16, "typo_key": 3}, ["unknown", "typo_key"]),
    ({"M": "16"}, ["M", "expected int"]),
    ({"M": True}, ["M", "expected int"]),
    ({"ef_search": 9.5}, ["ef_search", "expected int"]),
])
def test_index_settings_refused_with_the_key_named(data, words):
    with pytest.raises(ConfigError) as info:
        IndexParams.from_dict(data)
    assert all(w in str(info.value) for w in words)


def test_descriptor_settings_checked_and_retired_keys_at_default_accepted():
    with pytest.raises(ConfigError, match="scales"):
        DescriptorConfig.from_dict({"pooling": "gem", "scales": ["big"]})
    with pytest.raises(ConfigError, match="pooling"):
        DescriptorConfig.from_dict({"pooling": "max"})
    with pytest.raises(ConfigError, match="hybrid"):  # retired: only library.json's migration drops it
        DescriptorConfig.from_dict({"pooling": "gem", "hybrid": False})


def test_library_json_checked_and_newer_versions_refused():
    good = LibraryConfig(name="x", roots=["/a"]).to_dict()
    assert LibraryConfig.from_dict(json.loads(json.dumps(good))).roots == ["/a"]
    with pytest.raises(ConfigError, match="roots"):
        LibraryConfig.from_dict({**good, "roots": "/a"})
    with pytest.raises(ConfigError, match="colour"):
        LibraryConfig.from_dict({**good, "colour": "red"})
    with pytest.raises(LibraryIncompatible, match="newer photosearch"):
        LibraryConfig.from_dict({**good, "version": 99, "colour": "red"})
    # version 1 (session 1's libraries) recorded a retired descriptor key; the migration drops it
    old = {**good, "version": 1, "descriptor": {"pooling": "gem", "hybrid": False}}
    migrated = LibraryConfig.from_dict(old)
    assert migrated.version == 3 and migrated.descriptor == {"pooling": "gem"}
    assert old["descriptor"] == {"pooling": "gem", "hybrid": False}  # the input is not changed


def test_a_damaged_library_json_is_reported_not_a_traceback(app, photo_folder):
    app.libraries.create("lib", [str(photo_folder)])
    config_file = app.libraries.folder("lib") / "library.json"
    data = json.loads(config_file.read_text())
    data["skip_hidden"] = "yes"
    config_file.write_text(json.dumps(data))
    with pytest.raises(LibraryIncompatible, match="damaged library.json.*skip_hidden"):
        app.libraries.open("lib")
