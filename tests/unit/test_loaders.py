"""A request's DataLoaders are made when first asked for, once."""

from typing import Any, cast

from rma_graphql.api.loaders import Loaders
from rma_graphql.service.unit_of_work import UnitOfWork


def test_a_loader_is_made_on_first_use_and_kept() -> None:
    loaders = Loaders(cast(UnitOfWork, cast(Any, object())))

    made_before = set(vars(loaders)) - {"uow"}
    lines = loaders.lines

    assert made_before == set()
    assert loaders.lines is lines
    assert set(vars(loaders)) - {"uow"} == {"lines"}
