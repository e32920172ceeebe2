"""Notification rules and templates without a server: what fires a trigger, whom a rule
reaches, and every default template rendered in both languages, escaped where it is HTML."""

from datetime import UTC, datetime

import pytest

from rma_graphql.domain.errors import BadUserInputError
from rma_graphql.domain.notifications import Trigger, check_address, check_recipients, check_trigger
from rma_graphql.domain.rma_money import resolution_comment, resolution_named
from rma_graphql.domain.statuses import FinancialResolutionType
from rma_graphql.service import notification_templates as templates
from rma_graphql.service.notification_defaults import DEFAULT_RULES, DEFAULT_TEMPLATES

ACCEPTED = [{"dimension": "PROCESSING", "from": "REQUESTED", "to": "ACCEPTED"}]


def test_a_trigger_fires_on_its_event_status_or_custom_state_only() -> None:
    assert Trigger(event_type="ACCEPTED").fires("ACCEPTED", ACCEPTED, None)
    assert not Trigger(event_type="ACCEPTED").fires("SUBMITTED", [], None)
    refund = Trigger(event_type="FINANCIAL_RESOLUTION_EXECUTED", resolution_type="REFUND")
    assert refund.fires("FINANCIAL_RESOLUTION_EXECUTED", [], "REFUND 1f2e: PSP-1")
    assert not refund.fires("FINANCIAL_RESOLUTION_EXECUTED", [], "VOUCHER 1f2e")
    reached = Trigger(dimension="PROCESSING", status="ACCEPTED")
    assert reached.fires("SUBMITTED", ACCEPTED, None)
    assert not reached.fires("SUBMITTED", [{"dimension": "DELIVERY", "from": None, "to": "ACCEPTED"}], None)
    state = Trigger(custom_state="AT_REPAIR")
    assert state.fires("CUSTOM_STATE_CHANGED", [], "AT_REPAIR")
    assert not state.fires("CUSTOM_STATE_CHANGED", [], "ELSEWHERE")
    assert not state.fires("COMMENT_ADDED", [], "AT_REPAIR")
    assert Trigger.from_dict(refund.as_dict()) == refund


@pytest.mark.parametrize(
    ("trigger", "field"),
    [
        (Trigger(), "input.trigger"),
        (Trigger(event_type="ACCEPTED", custom_state="X"), "input.trigger"),
        (Trigger(event_type="ACCEPTED", resolution_type="REFUND"), "input.trigger.resolutionType"),
        (Trigger(dimension="DELIVERY", status="REFUNDED"), "input.trigger.status"),
        (Trigger(event_type="ACCEPTED", status="ACCEPTED"), "input.trigger.dimension"),
    ],
)
def test_a_trigger_names_one_thing_to_wait_for(trigger: Trigger, field: str) -> None:
    with pytest.raises(BadUserInputError) as refused:
        check_trigger(trigger)
    assert refused.value.field == field


def test_recipients_are_named_once_and_addresses_checked() -> None:
    assert check_recipients(["SENDER", "SENDER", "STAFF"], ["desk@shop.test", "desk@shop.test"]) == (
        ["SENDER", "STAFF"],
        ["desk@shop.test"],
    )
    assert check_recipients(["OWNER", "STAFF"], []) == (["OWNER"], [])
    for bad in ("desk", "a@b", "two words@shop.test", "x@shop.test\r\nBcc: y@shop.test", "<a@shop.test>"):
        with pytest.raises(BadUserInputError):
            check_address(bad, "input.recipients.addresses")
    # A character a header cannot carry unquoted, or any space (a no-break or ideographic one).
    for inside in (*'<>,;"()', "\t", "\xa0", "\u2003", "\u3000", "\x1c"):
        with pytest.raises(BadUserInputError, match="is not an email address"):
            check_address(f"ada{inside}love@shop.test", "input.recipients.addresses")
    assert check_address(" ada.o'brien+returns@shop.test ", "f") == "ada.o'brien+returns@shop.test"
    with pytest.raises(BadUserInputError):
        check_recipients([], [])


@pytest.mark.parametrize("key", sorted(DEFAULT_TEMPLATES))
def test_every_default_template_renders_in_english_and_french(key: str) -> None:
    translations = DEFAULT_TEMPLATES[key]
    assert templates.check_translations(translations, "input.translations") == translations
    english = templates.render(translations, templates.example, "en", "en")
    french = templates.render(translations, templates.example, "fr-CA", "en")
    assert (english.language, french.language) == ("en", "fr")
    for mail in (english, french):
        assert "RMA-1001" in mail.subject or "€" in mail.subject
        assert "\n" not in mail.subject
        assert mail.text.strip()
        assert mail.html.startswith("<!doctype html>")
    assert english.subject != french.subject
    assert english.text.startswith("Hello Ada Lovelace,")
    assert french.text.startswith("Bonjour Ada Lovelace,")


def test_every_default_rule_sends_a_default_template() -> None:
    assert sorted(key for _, key, _ in DEFAULT_RULES) == sorted(DEFAULT_TEMPLATES)
    for _, _, trigger in DEFAULT_RULES:
        check_trigger(trigger)


def test_html_is_escaped_and_text_is_not() -> None:
    parts = {"subject": "{{ reason }}", "text": "{{ reason }}", "html": "<p>{{ reason }}</p>"}

    def context(language: str, names: object) -> dict[str, object]:
        return {**templates.example(language), "reason": "<b>broken</b> & bent"}

    mail = templates.render({"en": parts}, context, "en", "en")
    assert mail.text == "<b>broken</b> & bent"
    assert mail.html == "<p>&lt;b&gt;broken&lt;/b&gt; &amp; bent</p>"


def test_amounts_and_dates_follow_the_language_and_currency() -> None:
    assert templates.money(5100, "EUR", "en") == "€51.00"
    assert templates.money(5100, "EUR", "fr") == "51,00\xa0€"
    assert templates.money(5100, "JPY", "en") == "¥5,100"
    assert templates.money(None, "EUR", "en") is None
    # Remembered per amount, currency and language: the same amount reads the same every time.
    assert [templates.money(5100, "EUR", "fr"), templates.money(5100, "EUR", "de")] == [
        "51,00\xa0€",
        "51,00\xa0€",
    ]
    assert templates.money(5100, "USD", "en") == "$51.00"
    moment = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    assert templates.when(moment, "fr", date_only=True) == "4 mars 2026"
    assert templates.when(moment.isoformat(), "en", date_only=True) == "March 4, 2026"


def test_a_language_without_a_translation_falls_back_to_the_organizations_then_the_first() -> None:
    translations = {"fr": {"subject": "Bonjour", "text": "t", "html": "h"}}
    assert templates.render(translations, templates.example, "de", "fr").subject == "Bonjour"
    assert templates.render(translations, templates.example, "de", "en").language == "fr"


def test_a_template_that_renders_too_much_is_refused() -> None:
    with pytest.raises(BadUserInputError) as refused:
        templates.check_part(
            "{% for i in range(60000) %}xx{% endfor %}", "en", "text", "input.translations[0].text"
        )
    assert refused.value.details["part"] == "text"


def test_a_template_changes_none_of_its_variables() -> None:
    with pytest.raises(BadUserInputError) as refused:
        templates.check_part("{{ lines.append(1) }}", "en", "text", "input.translations[0].text")
    assert "append" in str(refused.value)


@pytest.mark.parametrize(
    ("source", "says"),
    [
        (
            "{% for i in range(99) %}{% for j in range(99) %}\n{% for k in range(99) %}x{% endfor %}"
            "{% endfor %}{% endfor %}",
            "loops nest 2 deep",
        ),
        ("{% for i in range(10**9) %}x{% endfor %}", "range"),
        ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "macro"),
        ('{% set ns = namespace(s="x") %}{{ ns.s }}', "namespace"),
        ('{{ "x" * 10**9 }}', "repetition"),
        ("{{ 2 ** 100000 }}", "exponent"),
        ('{{ "%0999999999d" % 1 }}', "formatted"),
        ('{{ "x".ljust(10**9) }}', "ljust"),
        ('{{ "{:>999999999}".format(1) }}', "format"),
        ("{{ reference|center(10**9) }}", "No filter named 'center'"),
        ("{{ lipsum(10**6) }}", "lipsum"),
    ],
)
def test_a_template_cannot_run_long_or_grow_large(source: str, says: str) -> None:
    with pytest.raises(BadUserInputError) as refused:
        templates.check_part(source, "en", "text", "input.translations[0].text")
    assert says in str(refused.value)


def test_a_resolution_events_comment_is_read_as_it_is_written() -> None:
    comment = resolution_comment(FinancialResolutionType.VOUCHER, "1f2e", "PSP: 42")
    assert comment == "VOUCHER 1f2e: PSP: 42"
    assert resolution_named(comment) == ("VOUCHER", "1f2e")
    assert resolution_named(resolution_comment(FinancialResolutionType.REFUND, "9a")) == ("REFUND", "9a")
    assert resolution_named("AT_REPAIR") is None
    assert resolution_named(None) is None
