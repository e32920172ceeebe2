"""Custom states: the organization's own labels beside the four statuses: named in every
language, set only where allowed, recorded in the history, filterable."""

from typing import Any

from tests.conftest import GraphQLClient
from tests.helpers import act, create

STATE = 'id code position processingStatuses names { language text } en: name fr: name(language: "fr")'
CREATE_STATE = (
    f"mutation($input: RmaCustomStateInput!) {{ rmaCustomStateCreate(input: $input) {{ {STATE} }} }}"
)
UPDATE_STATE = (
    "mutation($code: String!, $input: RmaCustomStateUpdateInput!) "
    f"{{ rmaCustomStateUpdate(code: $code, input: $input) {{ {STATE} }} }}"
)
STATES = f"{{ rmaCustomStates {{ {STATE} }} }}"
DELETE_STATE = "mutation($code: String!) { rmaCustomStateDelete(code: $code) }"
SET = (
    "mutation($id: String!, $code: String, $v: Int) { rmaOrderSetCustomState(id: $id, code: $code, "
    'expectedVersion: $v) { version customState { code name fr: name(language: "fr-CA") } '
    "history { type comment message actor { type } } } }"
)
GET = "query($id: String) { rmaOrder(id: $id) { version customState { code } history { type } } }"
LISTED = "query($codes: [String!]) { rmaOrders(first: 50, filter: {customState: $codes}) { nodes { id } } }"


def _input(code: str, **overrides: Any) -> dict[str, Any]:
    return {
        "code": code,
        "names": [
            {"language": "en", "text": "Waiting for the supplier"},
            {"language": "fr", "text": "En attente du fournisseur"},
        ],
        "processingStatuses": ["ACCEPTED", "PROCESSING"],
        "position": 1,
        **overrides,
    }


async def test_a_custom_state_is_named_in_each_language_and_changed(gql: GraphQLClient) -> None:
    created = (await gql.data(CREATE_STATE, {"input": _input("WAITING_SUPPLIER")}))["rmaCustomStateCreate"]
    changed = (
        await gql.data(
            UPDATE_STATE,
            {"code": "WAITING_SUPPLIER", "input": {"names": [{"language": "en", "text": "At the supplier"}]}},
        )
    )["rmaCustomStateUpdate"]
    listed = (await gql.data(STATES))["rmaCustomStates"]

    assert created["en"] == "Waiting for the supplier"
    assert created["fr"] == "En attente du fournisseur"
    assert created["processingStatuses"] == ["ACCEPTED", "PROCESSING"]
    # Names are replaced whole: French is gone, so French readers get the only name left.
    assert changed["en"] == changed["fr"] == "At the supplier"
    assert [state["code"] for state in listed] == ["WAITING_SUPPLIER"]


async def test_a_state_is_set_where_allowed_recorded_filtered_and_cleared(gql: GraphQLClient) -> None:
    await gql.data(CREATE_STATE, {"input": _input("AT_REPAIR")})
    rma_id = (await create(gql))["id"]
    other_id = (await create(gql))["id"]
    await act(gql, rma_id, "submit")
    accepted = await act(gql, rma_id, "accept")

    set_ = (await gql.data(SET, {"id": rma_id, "code": "AT_REPAIR", "v": accepted["version"]}))[
        "rmaOrderSetCustomState"
    ]
    listed = (await gql.data(LISTED, {"codes": ["AT_REPAIR"]}))["rmaOrders"]["nodes"]
    cleared = (await gql.data(SET, {"id": rma_id, "code": None}))["rmaOrderSetCustomState"]

    assert set_["version"] == accepted["version"] + 1
    assert set_["customState"] == {
        "code": "AT_REPAIR",
        "name": "Waiting for the supplier",
        "fr": "En attente du fournisseur",
    }
    assert set_["history"][-1] == {
        "type": "CUSTOM_STATE_CHANGED",
        "comment": "AT_REPAIR",
        "message": "State set to AT_REPAIR by API client (API client)",
        "actor": {"type": "API_CLIENT"},
    }
    assert [node["id"] for node in listed] == [rma_id]
    assert other_id not in [node["id"] for node in listed]
    assert cleared["customState"] is None
    assert cleared["version"] == set_["version"] + 1


async def test_a_state_not_allowed_in_the_processing_status_is_refused_and_changes_nothing(
    gql: GraphQLClient,
) -> None:
    await gql.data(CREATE_STATE, {"input": _input("AT_REPAIR")})
    rma_id = (await create(gql))["id"]
    before = (await gql.data(GET, {"id": rma_id}))["rmaOrder"]

    refused = await gql.error(SET, {"id": rma_id, "code": "AT_REPAIR"})
    unknown = await gql.error(SET, {"id": rma_id, "code": "NO_SUCH_STATE"})

    assert refused["extensions"]["code"] == "INVALID_TRANSITION"
    assert refused["extensions"]["from"] == "NEW"
    assert refused["extensions"]["action"] == "setCustomState"
    assert unknown["extensions"] == {"code": "NOT_FOUND", "id": "NO_SUCH_STATE"}
    assert (await gql.data(GET, {"id": rma_id}))["rmaOrder"] == before


async def test_a_state_in_use_is_not_deleted_and_bad_states_are_refused(gql: GraphQLClient) -> None:
    await gql.data(CREATE_STATE, {"input": _input("AT_REPAIR", processingStatuses=["NEW"])})
    rma_id = (await create(gql))["id"]
    await gql.data(SET, {"id": rma_id, "code": "AT_REPAIR"})

    in_use = await gql.error(DELETE_STATE, {"code": "AT_REPAIR"})
    twice = await gql.error(CREATE_STATE, {"input": _input("AT_REPAIR")})
    bad_code = await gql.error(CREATE_STATE, {"input": _input("at repair")})
    bad_language = await gql.error(
        CREATE_STATE, {"input": _input("OTHER", names=[{"language": "no such tag!", "text": "x"}])}
    )
    await gql.data(SET, {"id": rma_id, "code": None})
    deleted = await gql.data(DELETE_STATE, {"code": "AT_REPAIR"})

    assert in_use["extensions"] == {"code": "BAD_USER_INPUT", "field": "code", "reason": "IN_USE"}
    assert twice["extensions"]["field"] == "input.code"
    assert bad_code["extensions"]["field"] == "input.code"
    assert bad_language["extensions"]["field"] == "input.names"
    assert deleted == {"rmaCustomStateDelete": "AT_REPAIR"}
    assert (await gql.data(STATES))["rmaCustomStates"] == []
