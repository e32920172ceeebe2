"""Notification templates: written in Jinja2's sandbox over the variables of
``domain.notifications.VARIABLES``, checked when saved (a template that does not compile,
names an unknown variable or fails on an example RMA order is refused, naming the language,
the part and the line), and rendered in the recipient's language with amounts and dates
formatted by Babel."""

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency
from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from rma_graphql.domain import messages
from rma_graphql.domain import notifications as rules
from rma_graphql.domain.errors import BadUserInputError
from rma_graphql.service.currency import minor_unit_exponent
from rma_graphql.service.history_messages import check_language
from rma_graphql.service.template_sandbox import BoundedSandbox, check_shape

PARTS = ("subject", "text", "html")
MAX_SOURCE_LENGTH = 20_000
# The bounded immutable sandbox: a template reads its variables, changes none of them, and
# cannot run long or grow large (see ``template_sandbox``).
_PLAIN = BoundedSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
_HTML = BoundedSandbox(undefined=StrictUndefined, autoescape=True, keep_trailing_newline=True)


def _environment(part: str) -> SandboxedEnvironment:
    return _HTML if part == "html" else _PLAIN


@dataclass(frozen=True)
class Mail:
    language: str
    subject: str
    text: str
    html: str


def _error_line(error: BaseException) -> int | None:
    """The template line a rendering error happened on (from the traceback Jinja rewrites)."""
    line, trace = None, error.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == "<template>":
            line = trace.tb_lineno
        trace = trace.tb_next
    return line


def _refuse(language: str, part: str, line: int | None, message: str, field: str) -> BadUserInputError:
    where = f"line {line} of " if line is not None else ""
    return BadUserInputError(
        f"The {part} in {language!r} is refused at {where}the template: {message}",
        field,
        language=language,
        part=part,
        line=line,
    )


def check_part(source: str, language: str, part: str, field: str) -> str:
    """A template part that compiles, uses only known variables, and renders an example RMA
    order (BAD_USER_INPUT naming the language, the part and the line otherwise)."""
    if len(source) > MAX_SOURCE_LENGTH:
        raise _refuse(language, part, None, f"it is over {MAX_SOURCE_LENGTH} characters.", field)
    environment = _environment(part)
    try:
        tree = environment.parse(source)
    except TemplateSyntaxError as error:
        raise _refuse(language, part, error.lineno, error.message or "it does not compile.", field) from None
    shape = check_shape(tree)
    if shape is not None:
        raise _refuse(language, part, shape[0], shape[1] + ".", field)
    try:
        used = meta.find_undeclared_variables(tree)
    except TemplateSyntaxError as error:  # an unknown filter or test
        raise _refuse(language, part, error.lineno, error.message or "it does not compile.", field) from None
    unknown = sorted(used - rules.VARIABLES.keys())
    if unknown:
        line = next((n.lineno for n in tree.find_all(nodes.Name) if n.name == unknown[0]), None)
        raise _refuse(
            language,
            part,
            line,
            f"unknown variable {unknown[0]!r} (the variables: {', '.join(sorted(rules.VARIABLES))}).",
            field,
        )
    try:
        _render(environment, source, _with_globals(example(language)))
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError, RecursionError) as error:
        raise _refuse(language, part, _error_line(error), str(error), field) from None
    return source


def check_translations(
    translations: Mapping[str, Mapping[str, str]], field: str
) -> dict[str, dict[str, str]]:
    """Every language's subject, text and HTML checked; the tags made canonical."""
    if not translations:
        raise BadUserInputError("A template has at least one language.", field)
    checked: dict[str, dict[str, str]] = {}
    for index, (tag, parts) in enumerate(translations.items()):
        language = check_language(tag, f"{field}[{index}].language")
        checked[language] = {
            part: check_part(parts.get(part) or "", language, part, f"{field}[{index}].{part}")
            for part in PARTS
        }
        if not checked[language]["subject"].strip():
            raise BadUserInputError(f"The subject in {language!r} is empty.", f"{field}[{index}].subject")
    return checked


@functools.lru_cache(maxsize=1024)
def _compiled(environment: SandboxedEnvironment, source: str) -> Template:
    """A template compiled once (compiling costs about a hundred times rendering)."""
    return environment.from_string(source)


def _render(environment: SandboxedEnvironment, source: str, context: dict[str, Any]) -> str:
    """``source`` rendered over ``context``: the variables with the environment's globals
    (see ``_with_globals``), used as they are by the template's context (Jinja's ``render``
    copies them, with the globals, into a new dictionary for every part of every mail)."""
    template = _compiled(environment, source)
    try:
        text = environment.concat(template.root_render_func(template.new_context(context, shared=True)))
    except Exception:
        environment.handle_exception()  # as Jinja's render: the template's line in the trace
    if len(text) > rules.MAX_BODY_LENGTH:
        raise ValueError(f"it renders {len(text)} characters, more than {rules.MAX_BODY_LENGTH}")
    return text


def _with_globals(variables: Mapping[str, Any]) -> dict[str, Any]:
    """A template's variables with the globals both environments give every template (the
    same ones: see ``BoundedSandbox``)."""
    return {**_PLAIN.globals, **variables}


@functools.lru_cache(maxsize=1024)
def _names(environment: SandboxedEnvironment, source: str) -> frozenset[str]:
    """The variables a template uses."""
    return frozenset(meta.find_undeclared_variables(environment.parse(source)))


def render(
    translations: Mapping[str, Mapping[str, str]], context_of: Any, language: str, default: str
) -> Mail:
    """The mail in the recipient's language (else the organization's, else English, else the
    template's first); ``context_of(language, names)`` gives the variables named, in that
    language."""
    found = messages.told_in(translations, language, default)
    parts, told = (
        found if found is not None else (next(iter(translations.values())), next(iter(translations)))
    )
    environments = {"subject": _PLAIN, "text": _PLAIN, "html": _HTML}
    names = frozenset().union(*(_names(environments[part], parts[part]) for part in PARTS))
    context = _with_globals(context_of(told, names))
    # One line (a header cannot carry a line break), its non-breaking spaces kept.
    lines = _render(_PLAIN, parts["subject"], context).splitlines()
    subject = " ".join(line.strip(" \t") for line in lines if line.strip())[: rules.MAX_SUBJECT_LENGTH]
    return Mail(
        told, subject, _render(_PLAIN, parts["text"], context), _render(_HTML, parts["html"], context)
    )


# Formatting


@functools.lru_cache(maxsize=256)
def _locale(language: str) -> Locale:
    return Locale.parse(language, sep="-")


def money(minor: int | None, currency: str, language: str) -> str | None:
    return None if minor is None else _money(minor, currency, language)


@functools.lru_cache(maxsize=4096)
def _money(minor: int, currency: str, language: str) -> str:
    """An amount in words of ``language`` (Babel takes about 20 µs; a catalog's prices
    recur in mail after mail)."""
    amount = Decimal(minor).scaleb(-minor_unit_exponent(currency))
    return str(format_currency(amount, currency, locale=_locale(language)))


def when(moment: datetime | str | None, language: str, *, date_only: bool = False) -> str | None:
    if moment is None:
        return None
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if date_only:
        return str(format_date(moment, format="long", locale=_locale(language)))
    return str(format_datetime(moment, format="medium", tzinfo=UTC, locale=_locale(language)))


@dataclass(frozen=True)
class MailFacts:
    """What a mail about one event says, before a language is chosen."""

    organization: str
    recipient: Mapping[str, Any]
    event: Mapping[str, Any]
    row: Mapping[str, Any]
    lines: Sequence[Mapping[str, Any]]
    resolution: Mapping[str, Any] | None
    voucher: Mapping[str, Any] | None
    shipment: Mapping[str, Any] | None
    slip_link: Callable[[], str]  # made only for a template that shows it (it is signed)
    custom_state_names: Mapping[str, str] | None
    sentence: Any  # (language) -> the history sentence

    def context(self, language: str, names: Iterable[str] | None = None) -> dict[str, Any]:
        """The variables in ``names`` (default: all), in words of ``language``: only those
        a template uses are made."""
        wanted = _VALUES.keys() if names is None else names
        return {name: _VALUES[name](self, language) for name in wanted if name in _VALUES}

    def _statuses(self) -> dict[str, str]:
        return {d: self.row[f"{d}_status"] for d in ("processing", "delivery", "financial", "fulfillment")}

    def _lines(self, language: str) -> list[dict[str, Any]]:
        currency = self.row["currency"]
        return [
            {
                "sku": line["sku"],
                "label": line.get("label") or line["sku"],
                "quantity": line["quantity"],
                "reason": line["reason"],
                "price": money(line.get("price"), currency, language),
            }
            for line in self.lines
        ]

    def _total(self, language: str) -> str | None:
        total = sum((line.get("price") or 0) * line["quantity"] for line in self.lines)
        return money(total, self.row["currency"], language)

    def _voucher(self, language: str) -> dict[str, Any] | None:
        if self.voucher is None:
            return None
        return {
            "code": self.voucher["code"],
            "amount": money(self.voucher["amount"], self.voucher["currency"], language),
            "expires_at": when(self.voucher["expires_at"], language, date_only=True),
        }

    def _custom_state(self, language: str) -> str | None:
        state = self.row.get("custom_state")
        if not state:
            return None
        named = messages.told_in(self.custom_state_names or {}, language, None)
        return named[0] if named else str(state)


_VALUES: dict[str, Callable[[MailFacts, str], Any]] = {
    "reference": lambda f, _: f.row["return_reference"],
    "rma_order_id": lambda f, _: f.row["id"],
    "organization": lambda f, _: f.organization,
    "recipient": lambda f, _: f.recipient,
    "language": lambda _, language: language,
    "event": lambda f, language: {
        "type": f.event["type"],
        "message": f.sentence(language),
        "occurred_at": when(f.event["occurred_at"], language),
    },
    "reason": lambda f, _: f.event.get("comment") or "",
    "status": lambda f, language: {
        name: messages.status_words(language).get(value, value) for name, value in f._statuses().items()
    },
    "status_code": lambda f, _: f._statuses(),
    "lines": lambda f, language: f._lines(language),
    "total": lambda f, language: f._total(language),
    "amount": lambda f, language: (
        money(f.resolution["amount"], f.row["currency"], language) if f.resolution else None
    ),
    "voucher": lambda f, language: f._voucher(language),
    "slip_link": lambda f, _: f.slip_link(),
    "tracking_number": lambda f, _: f.shipment.get("tracking") if f.shipment else None,
    "tracking_link": lambda f, _: f.shipment.get("tracking_url") if f.shipment else None,
    "custom_state": lambda f, language: f._custom_state(language),
    "custom_state_code": lambda f, _: f.row.get("custom_state"),
}
assert _VALUES.keys() == rules.VARIABLES.keys(), "every documented variable is made"


def example(language: str, names: Iterable[str] | None = None) -> dict[str, Any]:
    """Every variable filled, for checking a template when it is saved."""
    now = datetime(2026, 1, 15, 10, 30, tzinfo=UTC)
    facts = MailFacts(
        organization="Example shop",
        recipient={"name": "Ada Lovelace", "email": "ada@example.com"},
        event={"type": "ACCEPTED", "comment": "Example reason", "occurred_at": now},
        row={
            "id": "00000000-0000-0000-0000-000000000000",
            "return_reference": "RMA-1001",
            "currency": "EUR",
            "processing_status": "ACCEPTED",
            "delivery_status": "PENDING",
            "financial_status": "PENDING",
            "fulfillment_status": "PENDING",
            "custom_state": "EXAMPLE",
        },
        lines=[{"sku": "SKU-1", "label": "Shirt", "quantity": 2, "reason": "SIZE_PROBLEM", "price": 2550}],
        resolution={"amount": 5100},
        voucher={"code": "ABCD-EFGH-JKMN", "amount": 5100, "currency": "EUR", "expires_at": now},
        shipment={"tracking": "1Z999", "tracking_url": "https://carrier.example/track/1Z999"},
        slip_link=lambda: "https://returns.example/return-slips/example.pdf",
        custom_state_names={"en": "Example state"},
        sentence=lambda _: "Accepted by Ada (user)",
    )
    return facts.context(language, names)
