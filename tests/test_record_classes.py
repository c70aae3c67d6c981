"""tlsdoctor.records.record builds what @dataclass builds: compared class by class, side by side.

Each shape below is declared twice from the same body, once with ``@dataclass(...)`` and once
with ``@record(...)``, and everything a caller can see is compared: the ``__init__``
signature, the repr, equality, hashing, frozenness and its messages, ``dataclasses.fields``,
``asdict``, ``replace``, ``__match_args__``, the class docstring, pickling.
"""

from __future__ import annotations

import dataclasses
import inspect
import pickle
import sys
from dataclasses import FrozenInstanceError, dataclass, field
from typing import Any, Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tlsdoctor.records import record


def shapes(deco: Callable[..., Any], kind: str) -> dict[str, type]:
    """The same class bodies under ``deco`` (``dataclass`` or ``record``); ``kind``: frozen or mutable."""
    frozen = kind == "frozen"
    d = deco(frozen=frozen) if frozen else deco(frozen=False)

    @d
    class Empty:
        """No fields."""

    @d
    class Point:
        """Two required fields."""

        x: int
        y: int

    @d
    class Defaults:
        name: str
        port: int = 443
        tags: list[str] = field(default_factory=list)
        seen: tuple[int, ...] = ()
        note: str | None = field(default=None, repr=False)
        cost: float = field(default=0.0, compare=False)
        key: str = field(default="k", hash=False)

    @d
    class NotInInit:
        """init=False fields, with a default and with a factory."""

        a: int
        b: int = field(default=7, init=False)
        c: dict[str, int] = field(default_factory=dict, init=False)

    @d
    class Posted:
        """__post_init__ runs after the fields are set."""

        value: int
        doubled: int = field(default=0, init=False)

        def __post_init__(self) -> None:
            object.__setattr__(self, "doubled", self.value * 2)

    @d
    class SelfNamed:
        self: int
        other: str = "o"

    @d
    class OwnMethods:
        """A class that writes its own repr and equality keeps them."""

        a: int

        def __repr__(self) -> str:
            return "mine"

        def __eq__(self, other: object) -> bool:
            return isinstance(other, OwnMethods)

    @d
    class OwnHash:
        a: int

        def __hash__(self) -> int:
            return 42

    @d
    class One:
        only: float

    return {c.__name__: c for c in (Empty, Point, Defaults, NotInInit, Posted, SelfNamed, OwnMethods, OwnHash, One)}


ARGS: dict[str, tuple[tuple[Any, ...], dict[str, Any]]] = {
    "Empty": ((), {}),
    "Point": ((1, 2), {}),
    "Defaults": (("n",), {"port": 8443, "note": "hidden", "cost": 1.5}),
    "NotInInit": ((3,), {}),
    "Posted": ((21,), {}),
    "SelfNamed": ((5,), {}),
    "OwnMethods": ((1,), {}),
    "OwnHash": ((1,), {}),
    "One": ((float("nan"),), {}),
}


def outcome(fn: Callable[[], Any]) -> Any:
    try:
        return ("value", fn())
    except Exception as exc:  # noqa: BLE001 - the comparison is of what happens, errors included
        return ("raises", type(exc).__name__, str(exc))


def visible(cls: type, make: Callable[[], Any]) -> dict[str, Any]:
    """Everything about ``cls`` and its instances a caller could observe (names made neutral)."""
    a, b = make(), make()
    first = dataclasses.fields(cls)[0].name if dataclasses.fields(cls) else "x"
    seen = {
        "signature": str(inspect.signature(cls)),
        "doc": cls.__doc__,
        "match_args": cls.__match_args__,  # type: ignore[attr-defined]
        "fields": [(f.name, f.type, f.default, f.init, f.repr, f.compare, f.hash) for f in dataclasses.fields(cls)],
        "params": repr(cls.__dataclass_params__),  # type: ignore[attr-defined]
        "repr": repr(a),
        "eq": (a == b, a != b, a == object(), outcome(lambda: a < b)),
        "hash": outcome(lambda: hash(a) == hash(b)),
        "hash_value": outcome(lambda: hash(a)),
        "set": outcome(lambda: setattr(a, first, 9)),
        "set_other": outcome(lambda: setattr(a, "unrelated", 9)),
        "delete": outcome(lambda: delattr(a, first)),
        "asdict": outcome(lambda: dataclasses.asdict(make())),
        "replace": outcome(lambda: repr(dataclasses.replace(make()))),
        "pickle": outcome(lambda: repr(pickle.loads(pickle.dumps(make(), protocol=5)))),
        "unhashable_field": outcome(lambda: cls.__hash__ is None),
        "init": (cls.__init__.__qualname__, cls.__init__.__module__, repr(cls.__init__.__defaults__),
                 cls.__init__.__kwdefaults__, cls.__init__.__annotations__,
                 cls.__init__.__globals__ is sys.modules[cls.__module__].__dict__),
        "no_arguments": outcome(lambda: repr(cls())),
        "unknown_keyword": outcome(lambda: repr(cls(no_such_field=1))),
        "too_many": outcome(lambda: repr(cls(*range(20)))),
    }
    return seen


@pytest.mark.parametrize("kind", ["frozen", "mutable"])
def test_every_shape_looks_the_same_as_a_dataclass(kind: str) -> None:
    expected, built = shapes(dataclass, kind), shapes(record, kind)
    for name, (args, kwargs) in ARGS.items():
        want = visible(expected[name], lambda: expected[name](*args, **kwargs))
        got = visible(built[name], lambda: built[name](*args, **kwargs))
        for key in want:
            if key == "hash_value" and name not in ("OwnHash",):
                continue  # hashes of equal tuples are equal; the tuple's hash itself is compared below
            assert got[key] == want[key], (kind, name, key)


def test_the_hash_is_the_hash_of_the_field_tuple() -> None:
    (Point,) = (shapes(record, "frozen")["Point"],)
    assert hash(Point(1, 2)) == hash((1, 2))
    assert hash(shapes(record, "frozen")["One"](0.5)) == hash((0.5,))


def test_a_recursive_repr_stops_as_a_dataclass_does() -> None:
    reprs = []
    for deco in (dataclass, record):
        @deco
        class Node:
            children: list[Any] = field(default_factory=list)

        n = Node()
        n.children.append(n)
        reprs.append(repr(n))
    assert reprs[0] == reprs[1] == "test_a_recursive_repr_stops_as_a_dataclass_does.<locals>.Node(children=[...])"


def test_a_field_without_default_after_one_with_is_refused_the_same() -> None:
    messages = []
    for deco in (dataclass(frozen=True), record):
        with pytest.raises(TypeError) as caught:
            @deco
            class Bad:
                a: int = 1
                b: int  # type: ignore[misc]
        messages.append(str(caught.value))
    assert messages[0] == messages[1]


def test_shapes_it_does_not_build_get_dataclass_itself() -> None:
    @record
    class Base:
        a: int

    @record
    class Derived(Base):
        b: int = 2

    assert Derived(1) == Derived(1, 2) and Derived(1).b == 2
    with pytest.raises(FrozenInstanceError):
        Derived(1).a = 3  # type: ignore[misc]

    @record
    class KeywordOnly:
        a: int = field(kw_only=True, default=0)

    assert str(inspect.signature(KeywordOnly)) == "(*, a: 'int' = 0) -> None"


@given(st.lists(st.one_of(st.integers(), st.text(max_size=3), st.none()), min_size=2, max_size=2))
def test_equality_and_hash_agree_with_dataclass_for_any_values(values: list[Any]) -> None:
    made = {}
    for deco in (dataclass(frozen=True), record):
        @deco
        class Pair:
            a: Any
            b: Any

        made[deco] = Pair
    for cls in made.values():
        assert cls(*values) == cls(*values) and hash(cls(*values)) == hash(tuple(values))
