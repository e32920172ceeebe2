"""History entries told in sentences: in the language asked for, else the organization's,
else English; an organization's own texts replace the shipped ones."""

from typing import Any

from rma_graphql.domain.statuses import EventType
from tests.conftest import GraphQLClient
from tests.helpers import act, create, rma_input

HISTORY = (
    "query($id: String, $language: String) { rmaOrder(id: $id) "
    '{ history { type message fr: message(language: "fr") asked: message(language: $language) } } }'
)
SET = (
    "mutation($type: RmaOrderEventType!, $language: String!, $text: String) "
    "{ historyMessageSet(eventType: $type, language: $language, text: $text) { eventType language text own } }"
)
MESSAGES = "query($language: String) { historyMessages(language: $language) { eventType language text own } }"
ORGANIZATION = "mutation($language: String) { organizationUpdate(input: {defaultLanguage: $language}) { defaultLanguage } }"


async def _history(gql: GraphQLClient, rma_id: str, language: str | None = None) -> list[dict[str, Any]]:
    found = await gql.data(HISTORY, {"id": rma_id, "language": language})
    history: list[dict[str, Any]] = found["rmaOrder"]["history"]
    return history


async def test_history_is_told_in_english_and_in_french(gql: GraphQLClient) -> None:
    rma_id = (await create(gql))["id"]
    await act(gql, rma_id, "submit")
    await act(gql, rma_id, "reject")

    history = await _history(gql, rma_id)

    assert [entry["message"] for entry in history] == [
        "Created by API client (API client)",
        "Submitted by API client (API client)",
        "Rejected by API client (API client): not eligible",
    ]
    assert [entry["fr"] for entry in history] == [
        "Créé par API client (client API)",
        "Soumis par API client (client API)",
        "Refusé par API client (client API) : not eligible",
    ]


async def test_the_organizations_default_language_tells_what_names_none(gql: GraphQLClient) -> None:
    rma_id = (await create(gql))["id"]

    changed = await gql.data(ORGANIZATION, {"language": "fr-ca"})
    history = await _history(gql, rma_id, "de")
    await gql.data(ORGANIZATION, {"language": "en"})

    assert changed == {"organizationUpdate": {"defaultLanguage": "fr-CA"}}
    # German is not shipped: the organization's fr-CA, then fr.
    assert history[0]["message"] == history[0]["asked"] == "Créé par API client (client API)"


async def test_an_organization_tells_an_event_type_its_own_way_and_can_go_back(gql: GraphQLClient) -> None:
    rma_id = (await create(gql))["id"]
    await act(gql, rma_id, "submit")

    own = await gql.data(SET, {"type": "SUBMITTED", "language": "fr", "text": "Demande envoyée par {actor}"})
    told = await _history(gql, rma_id)
    back = await gql.data(SET, {"type": "SUBMITTED", "language": "fr", "text": None})
    after = await _history(gql, rma_id)

    assert own["historyMessageSet"] == {
        "eventType": "SUBMITTED",
        "language": "fr",
        "text": "Demande envoyée par {actor}",
        "own": True,
    }
    assert told[1]["fr"] == "Demande envoyée par API client (client API)"
    assert told[1]["message"] == "Submitted by API client (API client)"
    assert back["historyMessageSet"]["own"] is False
    assert after[1]["fr"] == "Soumis par API client (client API)"


async def test_a_refused_text_or_language_changes_nothing(gql: GraphQLClient) -> None:
    before = await gql.data(MESSAGES, {"language": "fr"})

    unknown = await gql.error(SET, {"type": "ACCEPTED", "language": "fr", "text": "Validé par {who}"})
    not_a_tag = await gql.error(SET, {"type": "ACCEPTED", "language": "no such tag!", "text": "Validé"})
    asked = await gql.error(MESSAGES, {"language": "??"})

    assert unknown["extensions"] == {"code": "BAD_USER_INPUT", "field": "text", "placeholder": "who"}
    assert not_a_tag["extensions"] == {"code": "BAD_USER_INPUT", "field": "language"}
    assert asked["extensions"]["code"] == "BAD_USER_INPUT"
    assert await gql.data(MESSAGES, {"language": "fr"}) == before
    assert len(before["historyMessages"]) == len(EventType)
    assert {m["language"] for m in before["historyMessages"]} == {"fr"}


async def test_a_contact_says_what_language_it_reads(gql: GraphQLClient) -> None:
    sender = {"fullname": "Élise Martin", "email": "elise@example.fr", "language": "fr-ca"}
    query = "query($id: String) { rmaOrder(id: $id) { sender { fullname language } owner { language } } }"

    count = "{ rmaOrders(first: 1) { totalCount } }"
    rma_id = (await create(gql, sender=sender, owner={"fullname": "Ada"}))["id"]
    found = (await gql.data(query, {"id": rma_id}))["rmaOrder"]
    before = await gql.data(count)
    refused = await gql.error(
        "mutation($input: RmaOrderInput!) { rmaOrderCreate(input: $input) { id } }",
        {"input": rma_input(sender={**sender, "language": "not a tag!"})},
    )

    assert found == {"sender": {"fullname": "Élise Martin", "language": "fr-CA"}, "owner": {"language": None}}
    assert refused["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.sender.language"}
    assert await gql.data(count) == before


async def test_a_customer_says_what_language_it_reads(gql: GraphQLClient) -> None:
    create_customer = (
        "mutation($input: CustomerCreateInput!) { customerCreate(input: $input) { id language } }"
    )
    update_customer = (
        "mutation($id: String!, $language: String) { customerUpdate(id: $id, input: {language: $language}) "
        "{ language } }"
    )

    made = (await gql.data(create_customer, {"input": {"name": "Élise", "language": "FR"}}))["customerCreate"]
    plain = (await gql.data(create_customer, {"input": {"name": "Ada"}}))["customerCreate"]
    refused = await gql.error(update_customer, {"id": made["id"], "language": "??"})
    kept = await gql.data("query($id: String!) { customer(id: $id) { language } }", {"id": made["id"]})
    cleared = (await gql.data(update_customer, {"id": made["id"], "language": None}))["customerUpdate"]

    assert made["language"] == "fr"
    assert plain["language"] is None
    assert refused["extensions"] == {"code": "BAD_USER_INPUT", "field": "input.language"}
    assert kept == {"customer": {"language": "fr"}}
    assert cleared == {"language": None}
