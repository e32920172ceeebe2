"""``mapping.key`` in a notification template: a plain dict's item found straight away gives
what Jinja's own sandbox gives, for items, a dict's methods, missing keys, dict subclasses and
unsafe attributes alike."""

from typing import Any

import pytest
from jinja2 import StrictUndefined
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from rma_graphql.service.template_sandbox import BoundedSandbox


class _Labelled(dict[str, Any]):
    label = "from the attribute"


OURS = BoundedSandbox(undefined=StrictUndefined, autoescape=True)
JINJA = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=True)


def _both(source: str, **variables: Any) -> tuple[str, str]:
    return OURS.from_string(source).render(**variables), JINJA.from_string(source).render(**variables)


@pytest.mark.parametrize(
    ("source", "variables", "expected"),
    [
        ("{{ d.a }}", {"d": {"a": 1}}, "1"),
        ("{{ lines[1].sku }}", {"lines": [{"sku": "A"}, {"sku": "B<"}]}, "B&lt;"),
        (
            "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}",
            {"d": {"items": 5, "x": 1}},
            "items=5;x=1;",
        ),
        ("{{ d.get('x', 'none') }}", {"d": {"get": 1}}, "none"),
        ("{{ d._hidden }}", {"d": {"_hidden": "kept"}}, "kept"),
        ("{{ d.label }}", {"d": _Labelled(label="from the item")}, "from the attribute"),
        ("{{ d.a.b }}", {"d": {"a": {"b": "deep"}}}, "deep"),
    ],
)
def test_a_dict_s_items_read_as_jinja_reads_them(
    source: str, variables: dict[str, Any], expected: str
) -> None:
    assert _both(source, **variables) == (expected, expected)


def test_a_missing_key_is_undefined_as_in_jinja() -> None:
    for environment in (OURS, JINJA):
        with pytest.raises(UndefinedError, match="'dict object' has no attribute 'missing'"):
            environment.from_string("{{ d.missing }}").render(d={"a": 1})


def test_a_dict_s_unsafe_attributes_stay_refused() -> None:
    for environment in (OURS, JINJA):
        with pytest.raises(SecurityError):
            environment.from_string("{{ d.__class__.__mro__ }}").render(d={"a": 1})
