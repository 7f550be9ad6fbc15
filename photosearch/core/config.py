"""One validated loader for the settings dataclasses written to JSON (library.json,
a model's description, descriptor and index settings).

Unknown keys are reported, not dropped: a key we do not know means the file was
edited by hand or written by another version, and silently losing it would lose a
setting. Types are checked against the dataclass's annotations, so a damaged file
is refused with a message naming the key instead of failing later, far away.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from .errors import ConfigError

T = TypeVar("T")


def load_dataclass(cls: type[T], data: Mapping[str, Any] | None, what: str) -> T:
    """`cls(**data)` after checking every key and value; `what` names the file for messages."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{what}: expected an object, found {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{what}: unknown setting(s) {', '.join(map(repr, unknown))}")
    hints = typing.get_type_hints(cls)
    values = {}
    for key, value in data.items():
        values[key] = _check(value, hints[key], f"{what}: {key}")
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{what}: {exc}") from exc


def _check(value: Any, hint: Any, where: str) -> Any:
    """The value, converted where JSON cannot say it (a list for a tuple); ConfigError if it does not fit."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        problems = []
        for option in args:
            try:
                return _check(value, option, where)
            except ConfigError as exc:
                problems.append(str(exc))
        raise ConfigError(f"{where}: {value!r} is not a {_name(hint)}")
    if hint is type(None):
        if value is None:
            return None
        raise ConfigError(f"{where}: expected nothing (null), found {value!r}")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{where}: expected a number, found {value!r}")
    if hint in (int, str, bool):
        if isinstance(value, hint) and not (hint is int and isinstance(value, bool)):
            return value
        raise ConfigError(f"{where}: expected {_name(hint)}, found {value!r}")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, found {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ConfigError(f"{where}: expected {len(args)} values, found {len(value)}")
            return tuple(_check(v, a, where) for v, a in zip(value, args))
        item = args[0] if args else Any
        checked = [_check(v, item, where) for v in value]
        return tuple(checked) if origin is tuple else checked
    if origin is dict or hint is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected an object, found {value!r}")
        if args:
            return {_check(k, args[0], where): _check(v, args[1], where) for k, v in value.items()}
        return value
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return load_dataclass(hint, value, where)
    raise TypeError(f"{where}: no check for annotation {hint!r}")


def _name(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint)
