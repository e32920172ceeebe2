"""The return slip's signed link: stable through a UTC day, valid at least its 30 days."""

from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

from rma_graphql.service import slips
from rma_graphql.service.accounts import Accounts, PasswordPolicy

DAY = 24 * 3600
MIDDAY = 20_000 * DAY + 12 * 3600


def _accounts() -> Accounts:
    return Accounts(cast(Any, None), "s" * 32, passwords=PasswordPolicy(1, 8, 1))


def _query(path: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(path).query).items()}


def test_the_link_reads_the_same_all_day_and_lasts_at_least_thirty_days() -> None:
    accounts = _accounts()
    morning = slips.signed_path(accounts, "rma-1", now=MIDDAY - 11 * 3600)
    evening = slips.signed_path(accounts, "rma-1", now=MIDDAY + 11 * 3600)
    next_day = slips.signed_path(accounts, "rma-1", now=MIDDAY + DAY)

    assert morning == evening
    assert next_day != morning
    expires = int(_query(morning)["expires"])
    assert expires % DAY == 0
    assert slips.LINK_SECONDS <= expires - (MIDDAY + 11 * 3600) < slips.LINK_SECONDS + DAY


def test_a_link_is_valid_for_its_rma_only_and_not_once_altered() -> None:
    accounts = _accounts()
    query = _query(slips.signed_path(accounts, "rma-1"))

    assert slips.link_is_valid(accounts, "rma-1", query["expires"], query["signature"])
    assert not slips.link_is_valid(accounts, "rma-2", query["expires"], query["signature"])
    later = str(int(query["expires"]) + DAY)
    assert not slips.link_is_valid(accounts, "rma-1", later, query["signature"])
    past = slips.signed_path(accounts, "rma-1", now=MIDDAY - 400 * DAY)
    assert not slips.link_is_valid(accounts, "rma-1", _query(past)["expires"], _query(past)["signature"])
