"""The sandbox notification templates run in: Jinja2's immutable sandbox, bounded so that a
template cannot hold the event loop or the memory (whoever writes templates is trusted with
mail text, not with the server's time).

- No macros, calls, imports, includes or inheritance: a template is one text.
- Loops nest two deep at most, and ``range`` gives at most ``MAX_RANGE`` numbers.
- No ``namespace`` (nothing accumulates across a loop's turns).
- A string or list is repeated (``*``) up to ``MAX_SIZE`` items, a power has a small
  exponent, ``%`` does not format strings, and the filters and string methods that pad or
  format to a width are not there.
"""

from collections.abc import Callable
from typing import Any

from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_RANGE = 100
MAX_LOOP_DEPTH = 2
MAX_SIZE = 50_000
MAX_EXPONENT = 64
FORBIDDEN_NODES = (nodes.Macro, nodes.CallBlock, nodes.Import, nodes.FromImport, nodes.Include, nodes.Extends)
# The string methods a template may call: none pads, formats or repeats.
STRING_METHODS = frozenset(
    {"upper", "lower", "title", "capitalize", "strip", "lstrip", "rstrip", "startswith", "endswith", "split"}
)
MAPPING_METHODS = frozenset({"items", "keys", "values", "get"})
_DROPPED_FILTERS = ("center", "indent", "wordwrap", "format", "xmlattr")
# What a dict has as attributes: ``mapping.items`` and the like stay Jinja's lookups.
_DICT_ATTRIBUTES = frozenset(dir(dict))


def _range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise SecurityError(f"range gives at most {MAX_RANGE} numbers in a template")
    return numbers


class BoundedSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        kept = {name: self.globals[name] for name in ("dict", "cycler", "joiner")}
        self.globals = {**kept, "range": _range}
        for name in _DROPPED_FILTERS:
            self.filters.pop(name, None)

    def getattr(self, obj: Any, attribute: str) -> Any:
        """``mapping.key`` of a plain dict (every variable a mail has is one): its item, as
        Jinja finds it once the attribute lookup has failed, without raising and catching
        that failure first (a fifth of a mail's rendering); a dict's own attributes and
        every other object go Jinja's way."""
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str):
            return attr in STRING_METHODS
        if callable(value) and isinstance(obj, dict | list | tuple):
            return attr in MAPPING_METHODS
        return bool(super().is_safe_attribute(obj, attr, value))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``str.format`` and ``format_map`` pad to any width: refused."""
        if super().wrap_str_format(value) is None:
            return None

        def refused(*args: Any, **kwargs: Any) -> str:
            raise SecurityError("strings are not formatted with format() in a template")

        return refused

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "%" and isinstance(left, str):
            raise SecurityError("strings are not formatted with % in a template")
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"a power's exponent is at most {MAX_EXPONENT} in a template")
        if operator == "*":
            for sized, times in ((left, right), (right, left)):
                sequence = isinstance(sized, str | list | tuple) and isinstance(times, int)
                if sequence and len(sized) * times > MAX_SIZE:
                    raise SecurityError(f"a repetition makes at most {MAX_SIZE} items in a template")
        return super().call_binop(context, operator, left, right)


def check_shape(tree: nodes.Template) -> tuple[int, str] | None:
    """Why a parsed template's shape is refused, and the line (None: it is not)."""
    for node in tree.find_all(FORBIDDEN_NODES):
        return node.lineno, f"{type(node).__name__.lower()} is not allowed in a notification template"

    def too_deep(node: nodes.Node, level: int) -> int | None:
        for child in node.iter_child_nodes():
            inner = level + 1 if isinstance(child, nodes.For) else level
            if inner > MAX_LOOP_DEPTH:
                return int(child.lineno)
            found = too_deep(child, inner)
            if found is not None:
                return found
        return None

    line = too_deep(tree, 0)
    return None if line is None else (line, f"loops nest {MAX_LOOP_DEPTH} deep at most")
