"""Checks that JSON read back from a cache has the shape the builder expects, before anything uses it.

A cache is data from outside the build: a CI cache or an archive restored into `.cache/` keeps its
files' times and is not tracked by git, so nothing else tells it from one this machine wrote. A value
of any other shape is a miss, never an exception: `fits(value, kind)` says whether it has the shape.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable

DIGEST = re.compile(r"[0-9a-f]{64}")  # a sha256 as hashlib's hexdigest writes it


def fits(value, kind) -> bool:
    """Whether JSON data `value` has the shape of `kind`: a plain type (str, int, bool, float, None), `list[X]`,
    `dict[K, V]`, `tuple[A, B]` (a JSON list of that length), `X | Y`, or a dict of key -> kind (a record: exactly
    those keys). An int is not a bool here, nor a bool an int."""
    return check_of(kind)(value)


_checks: dict[int, tuple[object, Callable]] = {}  # id(kind) -> (kind, its check); the kind is kept, so is its id


def check_of(kind) -> Callable:
    "The check for `kind`, made once: a warm build checks thousands of cache entries."
    if id(kind) not in _checks:
        _checks[id(kind)] = kind, make_check(kind)
    return _checks[id(kind)][1]


def make_check(kind) -> Callable:
    if isinstance(kind, dict):
        keys, parts = kind.keys(), [(key, check_of(part)) for key, part in kind.items()]
        return lambda v: type(v) is dict and v.keys() == keys and all(check(v[key]) for key, check in parts)
    if kind is None or kind is types.NoneType:
        return lambda v: v is None
    if kind in (int, str, bool, float, list, dict):
        return lambda v: type(v) is kind  # JSON data: exactly these types, and a bool is never an int
    origin, args = typing.get_origin(kind), [check_of(a) for a in typing.get_args(kind)]
    if origin in (types.UnionType, typing.Union):
        return lambda v: any(check(v) for check in args)
    if origin is list:
        return lambda v: type(v) is list and all(map(args[0], v))
    if origin is tuple:
        return lambda v: type(v) is list and len(v) == len(args) and all(c(x) for c, x in zip(args, v, strict=True))
    if origin is dict:
        return lambda v: type(v) is dict and all(map(args[0], v)) and all(map(args[1], v.values()))
    raise TypeError(f"no check for {kind!r}")


def is_digest(value) -> bool:
    "Whether `value` names a blob: a sha256 in lower-case hex, so it can never be a path of its own."
    return isinstance(value, str) and DIGEST.fullmatch(value) is not None
