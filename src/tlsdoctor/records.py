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
from types import CellType, CodeType, FunctionType

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
    """``__init__`` as dataclasses writes it: same parameters, defaults, annotations, globals, body.

    Compiling is most of a record's cost, and many records share a *shape* (which fields
    are plain, defaulted or made by a factory): the body is compiled once per shape with
    placeholder names, and each class gets that code with its own names put in
    (``CodeType.replace``), its defaults and annotations set as the compiler would set them.
    """
    shape, defaults, annotations, factories = [], [], {}, {}
    seen_default = False
    for index, f in enumerate(fields):
        has_default = f.default is not MISSING or f.default_factory is not MISSING
        if f.init:
            if has_default:
                seen_default = True
                defaults.append(f.default if f.default is not MISSING else _HAS_DEFAULT_FACTORY)
            elif seen_default:
                raise TypeError(f"non-default argument {f.name!r} follows default argument")
            annotations[f.name] = f.type
        if f.default_factory is not MISSING:
            factories[f"__dataclass_dflt_{index}__"] = f.default_factory
        shape.append(("F" if f.default_factory is not MISSING else "P") if f.init
                     else "N" if f.default_factory is not MISSING else "S")
    annotations["return"] = None
    names = [f.name for f in fields]
    key = (frozen, hasattr(cls, "__post_init__"), "self" in names, tuple(shape))
    template = _TEMPLATES.get(key) or _TEMPLATES.setdefault(key, _template(*key))
    renamed = {f"__dataclass_field_{i}__": name for i, name in enumerate(names)}
    code = template.replace(
        co_varnames=tuple(renamed.get(n, n) for n in template.co_varnames),
        co_names=tuple(renamed.get(n, n) for n in template.co_names),
        co_consts=tuple(renamed.get(c, c) if type(c) is str else c for c in template.co_consts),
    )
    cells = {"__dataclass_set__": object.__setattr__, "__dataclass_HAS_DEFAULT_FACTORY__": _HAS_DEFAULT_FACTORY,
             **factories}
    module = sys.modules.get(cls.__module__)
    scope = module.__dict__ if module is not None else {"__builtins__": builtins}
    init = FunctionType(code, scope, "__init__", tuple(defaults) or None,
                        tuple(CellType(cells[name]) for name in code.co_freevars))
    init.__annotations__ = annotations
    return init  # type: ignore[no-any-return]


_TEMPLATES: dict[tuple[bool, bool, bool, tuple[str, ...]], CodeType] = {}


def _template(frozen: bool, post_init: bool, self_is_a_field: bool, shape: tuple[str, ...]) -> CodeType:
    """The code of ``__init__`` for one shape, fields named ``__dataclass_field_<i>__``."""
    me = "__dataclass_self__" if self_is_a_field else "self"
    params, body = [me], []
    for index, kind in enumerate(shape):
        name, factory = f"__dataclass_field_{index}__", f"__dataclass_dflt_{index}__"
        if kind in "PF":
            params.append(name)  # no defaults here: __defaults__ is set per class (it may cover any trailing ones)
        value = {"P": name, "F": f"{factory}() if {name} is __dataclass_HAS_DEFAULT_FACTORY__ else {name}",
                 "N": f"{factory}()"}.get(kind)
        if value is not None:  # "S": init=False with a plain default, read from the class attribute
            body.append(f"__dataclass_set__({me},{name!r},{value})" if frozen else f"{me}.{name}={value}")
    if post_init:
        body.append(f"{me}.__post_init__()")
    free = ["__dataclass_set__", "__dataclass_HAS_DEFAULT_FACTORY__",
            *(f"__dataclass_dflt_{i}__" for i, kind in enumerate(shape) if kind in "FN")]
    lines = "\n".join(f"  {line}" for line in body or ["pass"])
    source = f"def __create_fn__({', '.join(free)}):\n def __init__({', '.join(params)}):\n{lines}\n return __init__"
    outer = compile(source, "<string>", "exec", dont_inherit=True)
    create = next(c for c in outer.co_consts if isinstance(c, CodeType))
    return next(c for c in create.co_consts if isinstance(c, CodeType))


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
