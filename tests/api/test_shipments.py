"""Return shipments: carrier scans recorded always, the delivery status following the
latest real scan through the delivery machine, out of order and repeated scans."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import GraphQLClient
from tests.helpers import act, create, get, snapshot

SHIPMENT_FIELDS = """
  id reference tracking trackingUrl carrierName labelUrl state
  lastEvent { event date message location deliveryStatus }
  events { totalCount nodes { event date message location deliveryStatus } }
  rmaOrder { version deliveryStatus processingStatus }
"""
SHIPMENT_CREATE = (
    "mutation($id: String!, $input: RmaShipmentInput!, $expectedVersion: Int) "
    f"{{ rmaShipmentCreate(rmaOrderId: $id, input: $input, expectedVersion: $expectedVersion) {{ {SHIPMENT_FIELDS} }} }}"
)
SCAN = (
    "mutation($id: String!, $input: RmaShipmentEventInput!, $expectedVersion: Int) "
    f"{{ rmaShipmentAddEvent(shipmentId: $id, input: $input, expectedVersion: $expectedVersion) {{ {SHIPMENT_FIELDS} }} }}"
)
HISTORY = "query($id: String) { rmaOrder(id: $id) { version deliveryStatus history { type version comment changes { dimension from to } actor { type } } shipments { id state events { totalCount } } } }"


def at(hour: int) -> str:
    return f"2026-11-20T{hour:02}:00:00+00:00"


async def accepted(gql: GraphQLClient) -> dict[str, Any]:
    rma = await create(gql)
    await act(gql, rma["id"], "submit")
    return await act(gql, rma["id"], "accept")


async def ship(gql: GraphQLClient, rma_id: str) -> dict[str, Any]:
    data = await gql.data(
        SHIPMENT_CREATE,
        {
            "id": rma_id,
            "input": {
                "carrierName": "Colissimo",
                "tracking": "6A123",
                "trackingUrl": "https://track.example.com/6A123",
                "labelUrl": "https://labels.example.com/6A123.pdf",
            },
        },
    )
    shipment: dict[str, Any] = data["rmaShipmentCreate"]
    return shipment


async def scan(gql: GraphQLClient, shipment_id: str, event: str, hour: int, **fields: Any) -> dict[str, Any]:
    data = await gql.data(SCAN, {"id": shipment_id, "input": {"event": event, "date": at(hour), **fields}})
    shipment: dict[str, Any] = data["rmaShipmentAddEvent"]
    return shipment


async def test_a_shipment_is_created_with_its_tracking_and_bumps_the_version(gql: GraphQLClient) -> None:
    rma = await accepted(gql)

    shipment = await ship(gql, rma["id"])
    shown = (await gql.data(HISTORY, {"id": rma["id"]}))["rmaOrder"]

    assert shipment["reference"] == f"{rma['returnReference']}-1"
    assert (shipment["carrierName"], shipment["tracking"], shipment["state"], shipment["lastEvent"]) == (
        "Colissimo",
        "6A123",
        None,
        None,
    )
    assert shipment["trackingUrl"] == "https://track.example.com/6A123"
    assert shipment["labelUrl"] == "https://labels.example.com/6A123.pdf"
    assert shipment["events"] == {"totalCount": 0, "nodes": []}
    assert shipment["rmaOrder"]["version"] == rma["version"] + 1
    assert shown["history"][-1]["type"] == "SHIPMENT_CREATED"
    assert shown["history"][-1]["comment"] == "Colissimo 6A123"
    assert shown["shipments"] == [{"id": shipment["id"], "state": None, "events": {"totalCount": 0}}]


async def test_scans_move_the_delivery_status_along_the_delivery_machine(gql: GraphQLClient) -> None:
    rma = await accepted(gql)
    shipment = await ship(gql, rma["id"])

    handed = await scan(gql, shipment["id"], "INFO_RECEIVED", 8)
    moving = await scan(gql, shipment["id"], "IN_TRANSIT", 9, location="Lyon", message="Departed hub")
    delivered = await scan(gql, shipment["id"], "DELIVERED", 12)

    assert [s["rmaOrder"]["deliveryStatus"] for s in (handed, moving, delivered)] == [
        "HANDLED",
        "DELIVERING",
        "DELIVERED",
    ]
    assert [s["rmaOrder"]["version"] for s in (handed, moving, delivered)] == [
        rma["version"] + 2,
        rma["version"] + 3,
        rma["version"] + 4,
    ]
    assert delivered["state"] == "DELIVERED"
    assert moving["lastEvent"] == {
        "event": "IN_TRANSIT",
        "date": at(9),
        "message": "Departed hub",
        "location": "Lyon",
        "deliveryStatus": "DELIVERING",
    }
    history = (await gql.data(HISTORY, {"id": rma["id"]}))["rmaOrder"]["history"]
    assert history[-2]["comment"] == f"IN_TRANSIT on {at(9)} at Lyon: Departed hub"
    assert history[-1]["changes"] == [{"dimension": "DELIVERY", "from": "DELIVERING", "to": "DELIVERED"}]


async def test_out_of_order_and_repeated_scans_leave_the_status_where_the_latest_scan_puts_it(
    gql: GraphQLClient, organization_id: str, engine: AsyncEngine
) -> None:
    rma = await accepted(gql)
    shipment = await ship(gql, rma["id"])

    # The carrier's DELIVERED arrives first, then the older scans of the trip.
    first = await scan(gql, shipment["id"], "DELIVERED", 15)
    late = [
        await scan(gql, shipment["id"], event, hour)
        for event, hour in (("IN_TRANSIT", 9), ("OUT_FOR_DELIVERY", 13))
    ]
    before_repeat = await snapshot(engine, organization_id)
    repeated = await scan(gql, shipment["id"], "DELIVERED", 15)

    assert first["rmaOrder"]["deliveryStatus"] == "DELIVERED"
    # Older scans are recorded, each bumping the version, and move nothing.
    assert [s["rmaOrder"]["deliveryStatus"] for s in late] == ["DELIVERED", "DELIVERED"]
    assert [s["rmaOrder"]["version"] for s in late] == [
        first["rmaOrder"]["version"] + 1,
        first["rmaOrder"]["version"] + 2,
    ]
    assert [e["event"] for e in late[-1]["events"]["nodes"]] == [
        "IN_TRANSIT",
        "OUT_FOR_DELIVERY",
        "DELIVERED",
    ]
    assert late[-1]["state"] == "DELIVERED"
    # The same scan again changes nothing at all.
    assert repeated == late[-1]
    assert await snapshot(engine, organization_id) == before_repeat


async def test_a_later_scan_that_would_move_backwards_is_recorded_and_ignored(gql: GraphQLClient) -> None:
    rma = await accepted(gql)
    shipment = await ship(gql, rma["id"])
    await scan(gql, shipment["id"], "OUT_FOR_DELIVERY", 10)

    backwards = await scan(gql, shipment["id"], "INFO_RECEIVED", 11)
    then = await scan(gql, shipment["id"], "DELIVERED", 12)

    assert backwards["rmaOrder"]["deliveryStatus"] == "DELIVERING"
    assert backwards["state"] == "INFO_RECEIVED"
    assert backwards["events"]["totalCount"] == 2
    history = (await gql.data(HISTORY, {"id": rma["id"]}))["rmaOrder"]["history"]
    ignored = [e for e in history if e["type"] == "SHIPMENT_SCANNED"][1]
    assert ignored["changes"] == []
    assert then["rmaOrder"]["deliveryStatus"] == "DELIVERED"


async def test_scans_before_acceptance_are_kept_and_caught_up_on_accept(gql: GraphQLClient) -> None:
    rma = await create(gql)
    shipment = await ship(gql, rma["id"])

    early = [
        await scan(gql, shipment["id"], event, hour)
        for event, hour in (("INFO_RECEIVED", 8), ("IN_TRANSIT", 9))
    ]
    await act(gql, rma["id"], "submit")
    accepted_rma = await act(gql, rma["id"], "accept")

    assert [s["rmaOrder"]["deliveryStatus"] for s in early] == ["PENDING", "PENDING"]
    assert accepted_rma["deliveryStatus"] == "DELIVERING"
    assert accepted_rma["version"] == early[-1]["rmaOrder"]["version"] + 2
    catch_up = accepted_rma["history"][-1]
    assert (catch_up["type"], catch_up["actor"]["type"], catch_up["version"]) == (
        "DELIVERY_STATUS_CHANGED",
        "SYSTEM",
        accepted_rma["version"],
    )
    assert catch_up["changes"] == [{"dimension": "DELIVERY", "from": "PENDING", "to": "DELIVERING"}]


async def test_a_scan_back_to_the_sender_flags_the_anomaly(gql: GraphQLClient) -> None:
    rma = await accepted(gql)
    shipment = await ship(gql, rma["id"])
    await scan(gql, shipment["id"], "IN_TRANSIT", 9)

    returned = await scan(gql, shipment["id"], "RETURNED_TO_SENDER", 18)

    assert (returned["rmaOrder"]["deliveryStatus"], returned["rmaOrder"]["processingStatus"]) == (
        "DELIVERED_TO_SENDER",
        "ANOMALY",
    )
    history = (await gql.data(HISTORY, {"id": rma["id"]}))["rmaOrder"]["history"]
    assert [(e["type"], e["actor"]["type"], e["comment"]) for e in history[-2:]] == [
        ("SHIPMENT_SCANNED", "API_CLIENT", f"RETURNED_TO_SENDER on {at(18)}"),
        ("ANOMALY_FLAGGED", "SYSTEM", "returned to sender"),
    ]


async def test_resolving_a_return_to_sender_catches_up_to_the_new_parcels_scans(gql: GraphQLClient) -> None:
    rma = await accepted(gql)
    first = await ship(gql, rma["id"])
    await scan(gql, first["id"], "IN_TRANSIT", 7)
    await scan(gql, first["id"], "RETURNED_TO_SENDER", 9)
    second = await ship(gql, rma["id"])
    while_in_anomaly = await scan(gql, second["id"], "IN_TRANSIT", 12)
    late_old_scan = await scan(gql, first["id"], "IN_TRANSIT", 8)

    resolved = await act(gql, rma["id"], "resolveAnomaly")

    assert while_in_anomaly["rmaOrder"]["deliveryStatus"] == "DELIVERED_TO_SENDER"
    assert late_old_scan["rmaOrder"]["deliveryStatus"] == "DELIVERED_TO_SENDER"
    assert (resolved["processingStatus"], resolved["deliveryStatus"]) == ("ACCEPTED", "DELIVERING")
    assert [(e["type"], e["actor"]["type"], e["changes"]) for e in resolved["history"][-2:]] == [
        (
            "ANOMALY_RESOLVED",
            "API_CLIENT",
            [
                {"dimension": "PROCESSING", "from": "ANOMALY", "to": "ACCEPTED"},
                {"dimension": "DELIVERY", "from": "DELIVERED_TO_SENDER", "to": "PENDING"},
            ],
        ),
        (
            "DELIVERY_STATUS_CHANGED",
            "SYSTEM",
            [{"dimension": "DELIVERY", "from": "PENDING", "to": "DELIVERING"}],
        ),
    ]
    assert resolved["history"][-1]["version"] == resolved["version"]


async def test_resolving_a_return_to_sender_without_a_new_scan_waits_at_pending(gql: GraphQLClient) -> None:
    rma = await accepted(gql)
    shipment = await ship(gql, rma["id"])
    await scan(gql, shipment["id"], "IN_TRANSIT", 7)
    await scan(gql, shipment["id"], "RETURNED_TO_SENDER", 9)

    resolved = await act(gql, rma["id"], "resolveAnomaly")
    stale = await scan(gql, shipment["id"], "IN_TRANSIT", 8)

    assert (resolved["processingStatus"], resolved["deliveryStatus"]) == ("ACCEPTED", "PENDING")
    assert resolved["history"][-1]["type"] == "ANOMALY_RESOLVED"
    assert stale["rmaOrder"]["deliveryStatus"] == "PENDING"


async def test_a_shipment_is_refused_on_a_closed_return_and_changes_nothing(
    gql: GraphQLClient, organization_id: str, engine: AsyncEngine
) -> None:
    rma = await create(gql)
    await act(gql, rma["id"], "submit")
    await act(gql, rma["id"], "reject")
    before = await snapshot(engine, organization_id)

    error = await gql.error(SHIPMENT_CREATE, {"id": rma["id"], "input": {"carrierName": "UPS"}})

    assert error["extensions"]["code"] == "INVALID_TRANSITION"
    assert (error["extensions"]["action"], error["extensions"]["from"]) == ("createShipment", "REJECTED")
    assert error["extensions"]["allowedActions"] == ["delete"]
    assert await snapshot(engine, organization_id) == before


async def test_scan_refusals_name_their_cause_and_change_nothing(
    gql: GraphQLClient, organization_id: str, engine: AsyncEngine
) -> None:
    rma = await accepted(gql)
    shipment = await ship(gql, rma["id"])
    before = await snapshot(engine, organization_id)
    unknown = "00000000-0000-4000-8000-000000000000"

    missing = await gql.error(SCAN, {"id": unknown, "input": {"event": "IN_TRANSIT", "date": at(9)}})
    naive = await gql.error(
        SCAN, {"id": shipment["id"], "input": {"event": "IN_TRANSIT", "date": "2026-11-20T09:00:00"}}
    )
    stale = await gql.error(
        SCAN,
        {
            "id": shipment["id"],
            "input": {"event": "IN_TRANSIT", "date": at(9)},
            "expectedVersion": rma["version"],
        },
    )

    assert (missing["extensions"]["code"], missing["extensions"]["id"]) == ("NOT_FOUND", unknown)
    assert (naive["extensions"]["code"], naive["extensions"]["field"]) == ("BAD_USER_INPUT", "input.date")
    assert (stale["extensions"]["code"], stale["extensions"]["currentVersion"]) == (
        "CONFLICT",
        rma["version"] + 1,
    )
    assert await snapshot(engine, organization_id) == before
    assert (await get(gql, rma["id"]))["version"] == rma["version"] + 1
