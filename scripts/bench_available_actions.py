"""How long ``availableActions`` takes per RMA order, in-process (no database, no HTTP).

Builds RMA orders of three lines in each processing status a return passes through (with a
received line and an open resolution where the status allows them) and prints the mean
time of ``RmaOrder.available_actions()`` per RMA order, over many rounds.

    .venv/bin/python scripts/bench_available_actions.py [--rounds 2000]
"""

import argparse
import statistics
import time
from datetime import UTC, datetime

from rma_graphql.domain.actions import Action
from rma_graphql.domain.rma_order import RmaLine, RmaOrder
from rma_graphql.domain.statuses import ExpectedResolution, FinancialResolutionType, ReturnReason

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PATHS = {
    "NEW": (),
    "REQUESTED": (Action.SUBMIT,),
    "ACCEPTED": (Action.SUBMIT, Action.ACCEPT),
    "PROCESSING": (Action.SUBMIT, Action.ACCEPT, Action.START_FULFILLMENT),
    "COMPLETE": (Action.SUBMIT, Action.ACCEPT, Action.START_FULFILLMENT, Action.COMPLETE_PROCESSING),
}


def rma_order(path: tuple[Action, ...]) -> RmaOrder:
    lines = [RmaLine(sku=f"SKU-{i}", quantity=2, reason=ReturnReason.DEFECTIVE, price=1500) for i in range(3)]
    rma, _ = RmaOrder.create(
        id="rma", expected_resolution=ExpectedResolution.REFUND, currency="EUR", lines=lines, now=NOW
    )
    for action in path:
        rma.perform(action, now=NOW)
    if path and path[-1] is Action.START_FULFILLMENT:
        rma.perform(Action.RECEIVE_LINE, now=NOW, line_id=rma.lines[0].id, quantity=1, serial_numbers=[])
    if rma.processing_status.value == "COMPLETE":
        rma.perform(
            Action.CREATE_FINANCIAL_RESOLUTION, now=NOW, type=FinancialResolutionType.REFUND, amount=500
        )
    return rma


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    orders = {name: rma_order(path) for name, path in PATHS.items()}
    timings: dict[str, float] = {}
    for name, rma in orders.items():
        rma.available_actions()  # warm up
        start = time.perf_counter()
        for _ in range(args.rounds):
            rma.available_actions()
        timings[name] = (time.perf_counter() - start) / args.rounds * 1000
    for name, ms in timings.items():
        print(f"availableActions, {name:<10} {ms:7.3f} ms per RMA order")
    print(f"availableActions, mean       {statistics.mean(timings.values()):7.3f} ms per RMA order")


if __name__ == "__main__":
    main()
