"""Every event type's history message, in every shipped language."""

import pytest

from rma_graphql.domain import messages
from rma_graphql.domain.errors import BadUserInputError
from rma_graphql.domain.statuses import EventType

ACTOR = {"type": "USER", "id": "u1", "name": "Ada"}
CHANGES = [{"dimension": "DELIVERY", "from": "PENDING", "to": "DELIVERED"}]


@pytest.mark.parametrize("event_type", list(EventType))
def test_every_event_type_is_told_in_english_and_in_french(event_type: EventType) -> None:
    told = {
        language: messages.render(
            messages.TEMPLATES[language][event_type], language, ACTOR, CHANGES, "box empty"
        )
        for language in messages.LANGUAGES
    }

    assert set(told) == {"en", "fr"}
    assert told["en"] != told["fr"]
    for language, text in told.items():
        assert "{" not in text, (language, text)
        assert "}" not in text, (language, text)
        assert ("Ada (user)" if language == "en" else "Ada (utilisateur)") in text


def test_a_sentence_names_the_actor_and_the_change_in_its_language() -> None:
    delivered = messages.TEMPLATES
    english = messages.render(delivered["en"][EventType.DELIVERY_STATUS_CHANGED], "en", ACTOR, CHANGES, None)
    french = messages.render(
        delivered["fr"][EventType.DELIVERY_STATUS_CHANGED], "fr-CA", ACTOR, CHANGES, None
    )
    system = messages.render(delivered["en"][EventType.ACCEPTED], "en", {"type": "SYSTEM"}, [], None)
    rejected = messages.render(
        delivered["fr"][EventType.REJECTED], "fr", {"type": "API_CLIENT", "name": "ERP"}, [], None
    )

    assert english == "Delivery pending → delivered, by Ada (user)"
    assert french == "Livraison en attente → livré, par Ada (utilisateur)"
    assert system == "Accepted by the system"
    # No comment: the sentence ends on the words before it.
    assert rejected == "Refusé par ERP (client API)"


def test_languages_are_tried_as_asked_then_the_organizations_then_english() -> None:
    assert messages.candidates("fr-CA", "de") == ["fr-CA", "fr", "de", "en"]
    assert messages.candidates(None, "fr") == ["fr", "en"]
    assert messages.candidates(None, None) == ["en"]


@pytest.mark.parametrize(
    ("text", "placeholder"),
    [("Validé par {who}", "who"), ("{actor} {0}", "0"), ("{actor.name}", "actor.name")],
)
def test_a_template_with_an_unknown_placeholder_is_refused(text: str, placeholder: str) -> None:
    with pytest.raises(BadUserInputError) as refused:
        messages.check_template(text, "text")

    assert refused.value.field == "text"
    assert refused.value.details == {"placeholder": placeholder}


def test_a_template_that_does_not_parse_or_is_empty_is_refused() -> None:
    for text in ("Validé {actor", "   ", "x" * 501):
        with pytest.raises(BadUserInputError):
            messages.check_template(text, "text")
    assert (
        messages.check_template("Validé par {actor} ({changes})", "text") == "Validé par {actor} ({changes})"
    )
