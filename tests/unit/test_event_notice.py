"""What writers announce, and the position tokens clients resume from."""

import pytest

from rma_graphql.db.event_log import EventNotice
from rma_graphql.domain.errors import BadUserInputError
from rma_graphql.service.events import format_position, parse_position


def test_a_notice_carries_ids_and_positions_far_under_the_notify_limit() -> None:
    notice = EventNotice(
        organization_id="7cf88ae2-d4c5-44f3-bc99-e48f58883d08",
        rma_order_id="4310efc9-65e9-44f5-9f7a-6d3ef2ea3433",
        version=2_147_483_647,
        last_position=999_999_999_999,
    )

    payload = notice.payload()

    assert len(payload.encode()) < 200
    assert EventNotice.from_payload(payload) == notice


def test_position_tokens_sort_as_text_in_position_order() -> None:
    positions = [1, 9, 10, 99, 100, 123_456_789]

    tokens = [format_position(p) for p in positions]

    assert sorted(tokens) == tokens
    assert [parse_position(token, "after") for token in tokens] == positions


@pytest.mark.parametrize(
    "token", ["", "1", "-00000000001", "00000000000a", "0000000000001", "１２３４５６７８９０１２"]
)
def test_a_token_this_api_did_not_issue_is_refused_on_its_field(token: str) -> None:
    with pytest.raises(BadUserInputError) as refused:
        parse_position(token, "after")

    assert refused.value.extensions()["field"] == "after"
