"""Record classes: ``@dataclass(frozen=True)``, built for a fraction of its import-time cost.

Observations, findings and wire structures are frozen dataclasses (observe, then judge:
facts that cannot change once gathered). Python 3.11's dataclasses compile every method
they add with its own ``exec``: a frozen class with equality gets six (``__init__``,
``__repr__``, ``__eq__``, ``__hash__``, ``__setattr__``, ``__delattr__``), ~1.5 ms a class
on a shared 2-core machine, and a diagnosis imports ~60 of them: a fifth of a whole
``tlsdoctor diagnose`` process went to compiling methods nobody had called yet (issue 9).

:func:`record` keeps dataclasses for what they are good at (reading the fields, defaults,
``field()`` options, ``__match_args__``) and compiles only ``__init__``, the one method
whose speed matters per object; the others are closures over the field names, made
without the compiler. What a caller sees is a dataclass's: the same ``__init__``
signature, repr text, equality, hash, ``FrozenInstanceError``, ``dataclasses.fields``,
``asdict`` and ``replace`` (``tests/test_record_classes.py`` compares them with ``@dataclass``
class by class). A class that uses what this does not build (``InitVar``, keyword-only
fields, ``slots``, a dataclass base) simply gets ``@dataclass`` itself.
"""

from __future__ import annotations

import builtins
import dataclasses
import sys
from dataclasses import MISSING, FrozenInstanceError, dataclass
from operator import attrgetter
from reprlib import recursive_repr

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, TypeVar

    T = TypeVar("T", bound=type)


class _Factory:
    """The default a parameter with a ``default_factory`` shows (dataclasses' own marker reads the same)."""

    def __repr__(self) -> str:
        return "<factory>"


_HAS_DEFAULT_FACTORY = _Factory()


def record(cls: T | None = None, /, *, frozen: bool = True, eq: bool = True) -> Any:
    """``@dataclass(frozen=frozen, eq=eq)`` with one compiled method instead of up to six."""

    def wrap(cls: T) -> T:
        if not _plain(cls):
            return dataclass(cls, frozen=frozen, eq=eq)
        return _build(cls, frozen=frozen, eq=eq)

    return wrap if cls is None else wrap(cls)


def _plain(cls: type) -> bool:
    """Whether ``cls`` uses only what :func:`_build` builds (else it gets @dataclass itself)."""
    if any(hasattr(base, "__dataclass_fields__") for base in cls.__mro__[1:]):
        return False  # inheritance rules (frozen bases, field order) stay dataclasses' own
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():
        text = annotation if isinstance(annotation, str) else repr(annotation)
        if "InitVar" in text or "KW_ONLY" in text:
            return False
        default = cls.__dict__.get(name)
        if isinstance(default, dataclasses.Field) and default.kw_only is True:
            return False
    return "__slots__" not in cls.__dict__


def _build(cls: T, *, frozen: bool, eq: bool) -> T:
    own = cls.__dict__
    class_hash = own.get("__hash__", MISSING)
    explicit_hash = not (class_hash is MISSING or (class_hash is None and "__eq__" in own))
    documented = bool(own.get("__doc__"))
    if not documented:
        cls.__doc__ = "-"  # dataclass would describe the class by its __init__, which does not exist yet
    # Fields, defaults, field() options and __match_args__, with no method compiled.
    dataclass(cls, init=False, repr=False, eq=False)
    params = cls.__dataclass_params__  # type: ignore[attr-defined]
    params.init, params.repr, params.eq, params.frozen = True, True, eq, frozen
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]

    _add(cls, "__init__", _init(cls, fields, frozen))
    if not documented:
        import inspect

        try:
            cls.__doc__ = cls.__name__ + str(inspect.signature(cls)).replace(" -> None", "")
        except (TypeError, ValueError):
            cls.__doc__ = cls.__name__
    _add(cls, "__repr__", _repr([f.name for f in fields if f.repr]))
    if eq:
        _add(cls, "__eq__", _eq([f.name for f in fields if f.compare]))
        if not explicit_hash:
            if frozen:
                cls.__hash__ = _hash([f.name for f in fields if (f.compare if f.hash is None else f.hash)])  # type: ignore[method-assign]
            else:
                cls.__hash__ = None  # type: ignore[assignment]  # mutable and comparable: unhashable, as dataclass
    if frozen:
        for name, method in _frozen(cls, tuple(f.name for f in fields)):
            if name in own:
                raise TypeError(f"Cannot overwrite attribute {name} in class {cls.__name__}")
            setattr(cls, name, method)
    return cls


def _add(cls: type, name: str, method: Callable[..., Any]) -> None:
    if name not in cls.__dict__:  # a method the class wrote itself wins, as with dataclass
        method.__qualname__ = f"{cls.__qualname__}.{method.__name__}"
        setattr(cls, name, method)


def _init(cls: type, fields: tuple[dataclasses.Field[Any], ...], frozen: bool) -> Callable[..., None]:
    """``__init__``, compiled from the text dataclasses would write for it."""
    self_name = "__dataclass_self__" if "self" in {f.name for f in fields} else "self"
    # object.__setattr__ as dataclasses' frozen __init__ calls it, under a short name (the
    # compiler's time grows with the text).
    names: dict[str, Any] = {"_set": object.__setattr__, "_HAS_DEFAULT_FACTORY": _HAS_DEFAULT_FACTORY,
                             "_return_type": None}
    params, body, seen_default = [self_name], [], False
    for f in fields:
        names[f"_type_{f.name}"] = f.type
        default = f"_dflt_{f.name}"
        value = f.name
        if f.default_factory is not MISSING:
            names[default] = f.default_factory
            value = f"{default}() if {f.name} is _HAS_DEFAULT_FACTORY else {f.name}" if f.init else f"{default}()"
        elif f.default is not MISSING:
            names[default] = f.default
        if f.init:
            if f.default is MISSING and f.default_factory is MISSING:
                if seen_default:
                    raise TypeError(f"non-default argument {f.name!r} follows default argument")
                params.append(f"{f.name}:_type_{f.name}")
            else:
                seen_default = True
                marker = default if f.default is not MISSING else "_HAS_DEFAULT_FACTORY"
                params.append(f"{f.name}:_type_{f.name}={marker}")
        elif f.default_factory is MISSING:
            continue  # not initialised: reads fall through to the class attribute holding the default
        body.append(f"_set({self_name},{f.name!r},{value})" if frozen
                    else f"{self_name}.{f.name}={value}")
    if hasattr(cls, "__post_init__"):
        body.append(f"{self_name}.__post_init__()")
    lines = "\n".join(f"  {line}" for line in body or ["pass"])
    source = (f"def __create_fn__({', '.join(names)}):\n"
              f" def __init__({','.join(params)})->_return_type:\n{lines}\n"
              f" return __init__")
    module = sys.modules.get(cls.__module__)
    scope = module.__dict__ if module is not None else {"__builtins__": builtins}
    local: dict[str, Any] = {}
    # dont_inherit: this module's `from __future__ import annotations` would make the
    # annotations strings ('_return_type'), which dataclasses' own exec does not.
    exec(compile(source, "<string>", "exec", dont_inherit=True), scope, local)  # noqa: S102 - field names only
    return local["__create_fn__"](**names)  # type: ignore[no-any-return]


def _tuple_of(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    if not names:
        return lambda obj: ()
    if len(names) == 1:
        one = attrgetter(names[0])
        return lambda obj: (one(obj),)
    return attrgetter(*names)  # type: ignore[return-value]


def _repr(names: list[str]) -> Callable[[Any], str]:
    @recursive_repr()
    def __repr__(self: Any) -> str:
        return f"{self.__class__.__qualname__}({', '.join([f'{n}={getattr(self, n)!r}' for n in names])})"

    return __repr__


def _eq(names: list[str]) -> Callable[[Any, Any], Any]:
    values = _tuple_of(names)

    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return values(self) == values(other)
        return NotImplemented

    return __eq__


def _hash(names: list[str]) -> Callable[[Any], int]:
    values = _tuple_of(names)

    def __hash__(self: Any) -> int:
        return hash(values(self))

    return __hash__


def _frozen(cls: type, names: tuple[str, ...]) -> list[tuple[str, Callable[..., None]]]:
    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    for method in (__setattr__, __delattr__):
        method.__qualname__ = f"{cls.__qualname__}.{method.__name__}"
    return [("__setattr__", __setattr__), ("__delattr__", __delattr__)]


__all__ = ["record"]
