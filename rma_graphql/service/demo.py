"""Demo data for the demo organization: a small catalog with stock, two customers and
three orders (one delivered, one on its way, one not shipped yet), so that a newcomer can
list returnable items and return goods from an order at once.

It is made through the same services as the API's, and only when the organization has no
product yet: running it twice changes nothing the second time.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from rma_graphql.db import account_repository, rma_reads
from rma_graphql.domain.access import Caller, Role
from rma_graphql.domain.statuses import OrderStatus
from rma_graphql.service import catalog
from rma_graphql.service.accounts import Accounts, create_user
from rma_graphql.service.catalog import CreateOrder, OrderLineCommand, StockLevel
from rma_graphql.service.configurations import update_location
from rma_graphql.service.unit_of_work import UnitOfWork

CURRENCY = "EUR"

WAREHOUSE_CONTACT = {
    "fullname": "Returns department",
    "company": "Demo organization",
    "email": "returns@example.com",
    "phone": "+33 4 00 00 00 00",
    "address": "12 rue des Entrepôts",
    "addressComplement": "Gate 3",
    "city": "Lyon",
    "zipcode": "69007",
    "country": "FR",
}


@dataclass(frozen=True)
class DemoProduct:
    name: str
    description: str
    price: float
    # SKU code, variation, units in stock at the warehouse.
    skus: tuple[tuple[str, str, int], ...]


PRODUCTS = (
    DemoProduct(
        "Organic cotton T-shirt",
        "Crew neck, 180 g/m².",
        19.99,
        (("TSHIRT-S", "S", 40), ("TSHIRT-M", "M", 55), ("TSHIRT-L", "L", 35)),
    ),
    DemoProduct(
        "Slim jeans", "Stretch denim, dark wash.", 59.90, (("JEANS-30", "W30", 12), ("JEANS-32", "W32", 18))
    ),
    DemoProduct(
        "Trail running shoes", "Waterproof, size EU.", 89.00, (("SHOES-42", "42", 8), ("SHOES-43", "43", 6))
    ),
    DemoProduct("Merino beanie", "One size.", 24.50, (("BEANIE-GREY", "grey", 25),)),
)

CUSTOMERS = (
    {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "phone": "+44 20 0000 0001",
        "address": {
            "address": "10 St James's Square",
            "city": "London",
            "zipcode": "SW1Y 4JU",
            "country": "GB",
        },
    },
    {
        "name": "Alan Turing",
        "email": "alan@example.com",
        "phone": "+44 161 000 0002",
        "address": {"address": "Oxford Road", "city": "Manchester", "zipcode": "M13 9PL", "country": "GB"},
    },
)


async def has_catalog(uow: UnitOfWork, organization_id: str) -> bool:
    async with uow.read() as conn:
        return await rma_reads.has_products(conn, organization_id)


async def seed(uow: UnitOfWork, caller: Caller, *, now: datetime | None = None) -> bool:
    """Fill the caller's organization with the demo data; False when it has a catalog already."""
    if await has_catalog(uow, caller.organization_id):
        return False
    now = now or datetime.now(UTC)
    async with uow.read() as conn:
        location_id = (await rma_reads.locations(conn, caller.organization_id))[0]["id"]
    await update_location(uow, caller, location_id, {"contact": WAREHOUSE_CONTACT})
    for product in PRODUCTS:
        product_id = await catalog.create_product(
            uow,
            caller,
            name=product.name,
            description=product.description,
            price=product.price,
            currency=CURRENCY,
        )
        for code, variation, units in product.skus:
            stock = [StockLevel(location_id=location_id, quantity=units)]
            await catalog.create_sku(
                uow, caller, product_id=product_id, code=code, variation=variation, stock=stock
            )
    ada, alan = [await catalog.create_customer(uow, caller, dict(customer)) for customer in CUSTOMERS]
    for order in _orders(ada, alan, now):
        await catalog.create_order(uow, caller, order)
    return True


def _orders(ada: str, alan: str, now: datetime) -> tuple[CreateOrder, ...]:
    """One order delivered, one shipped, one not shipped yet: a return of each shows a rule."""
    days = timedelta(days=1)
    return (
        # Delivered four days ago: returnable now.
        CreateOrder(
            external_reference="DEMO-1001",
            customer_id=ada,
            currency=CURRENCY,
            shipping_amount=4.90,
            status=OrderStatus.DELIVERED,
            ordered_at=now - 8 * days,
            shipped_at=now - 6 * days,
            delivered_at=now - 4 * days,
            lines=[OrderLineCommand("TSHIRT-M", 2), OrderLineCommand("JEANS-32", 1)],
        ),
        # Shipped, still on its way: returnable already (it has shipped).
        CreateOrder(
            external_reference="DEMO-1002",
            customer_id=alan,
            currency=CURRENCY,
            shipping_amount=0,
            status=OrderStatus.SHIPPED,
            ordered_at=now - 3 * days,
            shipped_at=now - 2 * days,
            lines=[OrderLineCommand("SHOES-42", 1), OrderLineCommand("BEANIE-GREY", 1)],
        ),
        # Paid, not shipped: nothing can come back yet (NOT_SHIPPED).
        CreateOrder(
            external_reference="DEMO-1003",
            customer_id=ada,
            currency=CURRENCY,
            shipping_amount=4.90,
            status=OrderStatus.PAID,
            ordered_at=now - 1 * days,
            lines=[OrderLineCommand("TSHIRT-L", 1)],
        ),
    )


# Who logs in to the back office and the portal of the demo organization; the customers'
# emails link them to the demo customers Ada and Alan.
USERS = (
    ("demo-admin", "admin@example.com", Role.ADMIN),
    ("demo-agent", "agent@example.com", Role.AGENT),
    ("demo-inspector", "inspector@example.com", Role.INSPECTOR),
    ("demo-ada", "ada@example.com", Role.CUSTOMER),
    ("demo-alan", "alan@example.com", Role.CUSTOMER),
)


async def demo_users(uow: UnitOfWork, accounts: Accounts, organization_id: str) -> tuple[list[str], str]:
    """The demo users' names and their one password, derived from the server's signing key
    like the demo client's secret: every start prints the same one. Made when missing."""
    password = accounts.sign(f"demo-user-password:{organization_id}")[:20]
    hashed: list[str] = []  # one hash serves every user that needs one

    async def password_hash() -> str:
        if not hashed:
            hashed.append(await accounts.hash_password(password))
        return hashed[0]

    for username, email, role in USERS:
        async with uow.read() as conn:
            found = await account_repository.user_by_username(conn, username)
        if found is None:
            await create_user(
                uow,
                organization_id=organization_id,
                username=username,
                email=email,
                password_hash=await password_hash(),
                role=role,
            )
        elif found["organization_id"] == organization_id and not await accounts.password_matches(
            found["password_hash"], password
        ):
            # Only when the signing key changed (RMA_TOKEN_SECRET set or changed).
            async with uow.transaction() as conn:
                await account_repository.set_password_hash(conn, found["id"], await password_hash())
    return [username for username, _, _ in USERS], password
