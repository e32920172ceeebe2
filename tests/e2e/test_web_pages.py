"""The return portal and the back office in headless Chromium, against a real server: a
customer files a return from an order and gets the slip, an agent accepts it and the
customer's page shows it without a reload, the warehouse receives and inspects it by its
reference; a customer never sees another's return or a staff comment. Each page leaves a
screenshot in ``test-artifacts/``."""

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from rma_graphql.domain.access import Role
from rma_graphql.service import demo
from rma_graphql.service.accounts import create_user
from rma_graphql.service.organizations import admin_caller
from tests.api.test_uploads import picture
from tests.conftest import GraphQLClient, Server
from tests.e2e.test_graphiql_browser import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    async_playwright,
    needs_browser,
)

pytestmark = needs_browser

PASSWORD = "correct horse battery"
PICTURE = picture("PNG", "navy")

with contextlib.suppress(ImportError):  # make test installs it
    from playwright.async_api import Browser, Page, expect

    # Live updates cross a websocket and a busy machine: wait for them as long as for a page.
    expect.set_options(timeout=20_000)


# One browser for the module: launching it cost a second per test.
@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def chromium() -> AsyncIterator["Browser"]:
    assert CHROMIUM is not None, "Chromium is not installed (Debian's chromium package)"
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def browser(chromium: "Browser") -> AsyncIterator["Browser"]:
    """The module's browser. Each page a test opens has a context of its own (no cookie,
    storage or cache crosses from one to another), closed after the test: before its server
    stops, so that no page is left calling it."""
    yield chromium
    for context in chromium.contexts:
        await context.close()


async def _page(
    browser: "Browser", *, phone: bool = False, locale: str = "en-US", audited: bool = False
) -> "Page":
    viewport = {"width": 390, "height": 844} if phone else {"width": 1400, "height": 900}
    # An audited page lets the test add axe-core past the pages' Content-Security-Policy.
    context = await browser.new_context(viewport=viewport, locale=locale, bypass_csp=audited)
    page = await context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors  # type: ignore[attr-defined]
    return page


async def shot(page: "Page", name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"web-{name}.png"), full_page=True)


async def _world(server: Server, organization_id: str) -> dict[str, str]:
    """The demo catalog (Ada's DEMO-1001 delivered, Alan's DEMO-1002 shipped) and users: an
    agent, an inspector, Ada and Alan as customers (linked by their emails)."""
    uow, accounts = server.app.state.uow, server.app.state.accounts
    await demo.seed(uow, admin_caller(organization_id))
    names = {}
    for name, email, role in (
        ("agent", "agent@example.com", Role.AGENT),
        ("inspector", "inspector@example.com", Role.INSPECTOR),
        ("ada", "ada@example.com", Role.CUSTOMER),
        ("alan", "alan@example.com", Role.CUSTOMER),
    ):
        username = f"{name}-{organization_id[:8]}"
        await create_user(
            uow,
            organization_id=organization_id,
            username=username,
            email=email,
            password_hash=await accounts.hash_password(PASSWORD),
            role=role,
        )
        names[name] = username
    return names


async def log_in(page: "Page", url: str, username: str) -> None:
    await page.goto(url)
    await page.get_by_label("Username").first.fill(username)
    await page.get_by_label("Password").first.fill(PASSWORD)
    await page.get_by_role("button", name=re.compile("^Log in$")).first.click()


async def file_a_return(page: "Page", server: Server, username: str) -> str:
    """Ada returns one T-shirt of DEMO-1001 through the portal; the return's id."""
    await log_in(page, server.url + "/portal", username)
    await page.get_by_role("link", name="Order DEMO-1001").click()
    await expect(page.get_by_role("heading", name="Order DEMO-1001")).to_be_visible()
    await shot(page, "portal-order")
    item = page.locator("fieldset.item", has_text="TSHIRT-M")
    await item.get_by_label("Quantity").fill("1")
    await item.get_by_label("Reason").select_option("SIZE_PROBLEM")
    await item.get_by_label("Pictures (optional)").set_input_files(
        files=[{"name": "label.png", "mimeType": "image/png", "buffer": PICTURE}]
    )
    await page.get_by_role("button", name="Submit the return").click()
    await page.wait_for_url(re.compile(r"#/return/"))
    await expect(page.locator("#status-words")).to_contain_text("Requested")
    return page.url.rsplit("/", 1)[-1]


async def test_a_return_from_the_portal_through_the_back_office_and_the_warehouse(
    server: Server, gql: GraphQLClient, organization_id: str, browser: "Browser"
) -> None:
    users = await _world(server, organization_id)
    customer = await _page(browser, phone=True)
    rma_id = await file_a_return(customer, server, users["ada"])
    reference = (await customer.get_by_role("heading", level=2).first.inner_text()).removeprefix("Return ")
    await shot(customer, "portal-return")

    # The slip: a PDF, fetched with the link the page shows (signed, no token).
    slip = await customer.locator("#slip").get_attribute("href")
    assert slip is not None
    pdf = await customer.request.get(slip)
    assert pdf.status == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert (await pdf.body()).startswith(b"%PDF")

    # The agent finds it in the list, opens it and accepts it.
    agent = await _page(browser)
    await log_in(agent, server.url + "/admin", users["agent"])
    await expect(agent.get_by_role("link", name=reference)).to_be_visible()
    await shot(agent, "admin-list")
    await agent.get_by_role("link", name=reference).click()
    await expect(agent.get_by_role("heading", name=re.compile(reference))).to_be_visible()
    # The customer's picture, served by its link.
    shown = await agent.get_by_role("link", name="Pictures 1 (TSHIRT-M)").get_attribute("href")
    assert shown is not None
    served = await agent.request.get(shown)
    assert (served.status, await served.body()) == (200, PICTURE)
    accept = agent.get_by_role("button", name="Accept", exact=True)
    await expect(accept).to_be_enabled()
    # A staff-only and a customer-visible comment.
    await agent.get_by_label("Add a comment").fill("Customer sounds unhappy")
    await agent.get_by_role("button", name="Add", exact=True).click()
    await expect(agent.locator("ul.comments li")).to_have_count(1)
    await agent.get_by_label("Add a comment").fill("Your parcel is expected")
    await agent.get_by_label("Visible to").select_option("CUSTOMER")
    await agent.get_by_role("button", name="Add", exact=True).click()
    await expect(agent.locator("ul.comments li")).to_have_count(2)
    await agent.get_by_role("button", name="Accept", exact=True).click()
    await expect(agent.locator("#statuses")).to_contain_text("Accepted")
    # An action the machine does not allow now is shown disabled, with the reason.
    submit = agent.get_by_role("button", name="Submit", exact=True)
    await expect(submit).to_be_disabled()
    assert await agent.locator("#why-submit").inner_text()
    await shot(agent, "admin-detail")

    # The customer's page followed, without a reload; it shows the customer's comment only.
    await expect(customer.locator("#status-words")).to_contain_text("Accepted")
    await expect(customer.get_by_text("Your parcel is expected")).to_be_visible()
    assert await customer.get_by_text("Customer sounds unhappy").count() == 0
    await shot(customer, "portal-accepted")

    # The warehouse scans the reference, receives and inspects the T-shirt.
    inspector = await _page(browser)
    await log_in(inspector, server.url + "/admin", users["inspector"])
    # The warehouse sees the list too (without the configuration scopes its filters use).
    await expect(inspector.get_by_role("link", name=reference)).to_be_visible()
    await inspector.get_by_role("link", name="Warehouse").click()
    scan = inspector.get_by_label(re.compile("Return slip reference"))
    await scan.fill(reference)
    await scan.press("Enter")
    line = inspector.locator("section.line", has_text="TSHIRT-M")
    await expect(line).to_be_visible()
    # Accepted: the parcel's arrival starts processing, from the keyboard.
    await expect(inspector.locator("#start")).to_be_focused()
    await inspector.keyboard.press("Enter")
    await expect(inspector.locator("#rma-title")).to_contain_text("Processing")
    await line.get_by_label("Units received").fill("1")
    await line.get_by_role("button", name="Receive").click()
    await expect(line).to_contain_text("1 received")
    await line.get_by_role("button", name="Inspect").click()
    await expect(line).to_contain_text("1 inspected")
    await shot(inspector, "admin-warehouse")
    await expect(customer.locator("#status-words")).to_contain_text("Processing")

    # Finance refunds what is due and pays it; the customer's page shows the amount.
    await agent.reload()
    await expect(agent.locator("#statuses")).to_contain_text("Processing")
    await agent.get_by_role("button", name="Create", exact=True).click()
    resolution = agent.locator("tr[data-resolution]")
    await expect(resolution).to_contain_text("Pending")
    await resolution.get_by_label("Payment reference").fill("PAY-1001")
    await resolution.get_by_role("button", name="Pay").click()
    await expect(agent.locator("tr[data-resolution]")).to_contain_text("PAY-1001")
    await shot(agent, "admin-refunded")
    await expect(customer.locator("#refunded")).to_contain_text("€19.99")
    await shot(customer, "portal-refunded")

    # The dashboard counts it.
    await agent.get_by_role("link", name="Dashboard").click()
    await expect(agent.locator("#total-returns")).to_have_text("1")
    await expect(agent.locator(".paid-REFUND")).to_have_text("€19.99")
    await expect(agent.locator("#reasons")).to_contain_text("Size does not fit")
    await expect(agent.get_by_role("img", name="Return rate per product")).to_be_visible()
    await shot(agent, "admin-dashboard")

    rma = (
        await gql.data(
            "query($id: String!) { rmaOrder(id: $id) { processingStatus financialStatus executedAmount"
            " lines { sku receivedQuantity inspectedQuantity acceptedQuantity } } }",
            {"id": rma_id},
        )
    )["rmaOrder"]
    assert rma == {
        "processingStatus": "PROCESSING",
        "financialStatus": "REFUNDED",
        "executedAmount": 19.99,
        "lines": [{"sku": "TSHIRT-M", "receivedQuantity": 1, "inspectedQuantity": 1, "acceptedQuantity": 1}],
    }
    for page in (customer, agent, inspector):
        assert page.errors == []  # type: ignore[attr-defined]


async def test_a_customer_never_sees_another_customers_return_whatever_the_url(
    server: Server, gql: GraphQLClient, organization_id: str, browser: "Browser"
) -> None:
    users = await _world(server, organization_id)
    ada = await _page(browser, phone=True)
    rma_id = await file_a_return(ada, server, users["ada"])
    orders: dict[str, Any] = await gql.data("{ orders { nodes { id externalReference } } }")
    ada_order = next(o["id"] for o in orders["orders"]["nodes"] if o["externalReference"] == "DEMO-1001")

    alan = await _page(browser, phone=True)
    await log_in(alan, server.url + "/portal", users["alan"])
    # His own order only.
    await expect(alan.get_by_role("link", name="Order DEMO-1002")).to_be_visible()
    assert await alan.get_by_role("link", name="Order DEMO-1001").count() == 0
    for path in (f"#/return/{rma_id}", f"#/order/{ada_order}"):
        await alan.goto(f"{server.url}/portal{path}")
        await expect(alan.get_by_role("alert")).to_contain_text("Not found")
        assert await alan.get_by_text("TSHIRT-M").count() == 0
    await shot(alan, "portal-not-found")

    # The back office's pages answer him with what the API lets him see: no one else's return,
    # and no action of the staff.
    # (The tab's session is the portal's: same origin.)
    await alan.goto(f"{server.url}/admin")
    await expect(alan.locator("#count")).to_contain_text("0 returns")
    await alan.goto(f"{server.url}/admin#/rma/{rma_id}")
    await expect(alan.get_by_role("alert")).to_be_visible()
    assert await alan.get_by_text("TSHIRT-M").count() == 0
    assert await alan.get_by_role("button", name="Accept", exact=True).count() == 0


async def test_a_guest_returns_goods_of_an_order_found_by_its_reference_and_email(
    server: Server, organization_id: str, browser: "Browser"
) -> None:
    await _world(server, organization_id)
    guest = await _page(browser, phone=True)
    await guest.goto(f"{server.url}/portal?organization={organization_id}")
    await guest.get_by_label("Order reference").fill("DEMO-1001")
    await guest.locator("#lookup-email").fill("alan@example.com")
    await guest.get_by_role("button", name="Find").click()
    # Not Alan's order: the one answer for a wrong reference or email.
    await expect(guest.get_by_role("alert")).to_contain_text("No order matches this reference and email.")
    await guest.get_by_label("Order reference").fill("DEMO-1002")
    await guest.get_by_role("button", name="Find").click()
    await expect(guest.get_by_role("heading", name="Order DEMO-1002")).to_be_visible()
    await guest.locator("fieldset.item", has_text="SHOES-42").get_by_label("Quantity").fill("1")
    await guest.get_by_label("A voucher").check()
    await guest.get_by_role("button", name="Submit the return").click()
    await expect(guest.locator("#status-words")).to_contain_text("Requested")
    await expect(guest.locator("#slip")).to_be_visible()
    await shot(guest, "portal-guest")
    # Its own order only, and the return it made.
    await guest.get_by_role("link", name="My orders").click()
    await expect(guest.get_by_role("link", name="Order DEMO-1002")).to_be_visible()
    assert await guest.get_by_role("link", name="Order DEMO-1001").count() == 0
    await expect(guest.get_by_role("link", name=re.compile("^Return RMA-"))).to_have_count(1)
    assert guest.errors == []  # type: ignore[attr-defined]


async def test_a_change_made_meanwhile_is_explained_and_the_return_reloaded(
    server: Server, gql: GraphQLClient, organization_id: str, browser: "Browser"
) -> None:
    users = await _world(server, organization_id)
    customer = await _page(browser, phone=True)
    rma_id = await file_a_return(customer, server, users["ada"])
    agent = await _page(browser)
    # No live updates for this page: what others change it learns only from the server's refusal.
    await agent.route_web_socket("**/graphql", lambda socket: None)
    await log_in(agent, server.url + "/admin", users["agent"])
    await expect(agent.locator("#count")).to_be_visible()
    await agent.goto(f"{server.url}/admin#/rma/{rma_id}")
    await expect(agent.locator("#rma-title")).to_contain_text("Version 2")
    await gql.data(
        'mutation($id: String!) { rmaOrderCommentAdd(id: $id, text: "Called the customer") { version } }',
        {"id": rma_id},
    )

    await agent.get_by_role("button", name="Put on hold").click()

    await expect(agent.locator("#action-message")).to_have_text(
        "Someone changed this return meanwhile. It has been reloaded: check it and try again."
    )
    await expect(agent.locator("#rma-title")).to_contain_text("Version 3")
    await expect(agent.get_by_text("Called the customer").first).to_be_visible()
    await shot(agent, "admin-conflict")
    rma = (
        await gql.data(
            "query($id: String!) { rmaOrder(id: $id) { processingStatus version } }", {"id": rma_id}
        )
    )["rmaOrder"]
    assert rma == {"processingStatus": "REQUESTED", "version": 3}


async def test_a_change_made_before_the_page_subscribed_still_reaches_it(
    server: Server, gql: GraphQLClient, organization_id: str, browser: "Browser"
) -> None:
    """The page's subscription leaves for the server only after a change was committed (the
    page read version 2, the change made 3): the page subscribes from the version it shows,
    and shows 3 without a reload."""
    users = await _world(server, organization_id)
    customer = await _page(browser, phone=True)
    rma_id = await file_a_return(customer, server, users["ada"])
    agent = await _page(browser)
    held: list[str | bytes] = []
    sockets: list[Any] = []

    def route(socket: Any) -> None:
        """The page's messages go on to the server, but for its rmaOrderUpdated subscription."""
        upstream = socket.connect_to_server()
        sockets.append(upstream)

        def from_page(message: str | bytes) -> None:
            if "rmaOrderUpdated" in str(message):
                held.append(message)
            else:
                upstream.send(message)

        socket.on_message(from_page)

    await agent.route_web_socket("**/graphql", route)
    await log_in(agent, server.url + "/admin", users["agent"])
    await expect(agent.locator("#count")).to_be_visible()
    await agent.goto(f"{server.url}/admin#/rma/{rma_id}")
    await expect(agent.locator("#rma-title")).to_contain_text("Version 2")
    for _ in range(1000):  # the page's subscription reaches the route
        if held:
            break
        await asyncio.sleep(0.01)
    assert held, "the page never subscribed"
    await gql.data(
        'mutation($id: String!) { rmaOrderCommentAdd(id: $id, text: "Called the customer") { version } }',
        {"id": rma_id},
    )
    for message in held:
        sockets[-1].send(message)

    await expect(agent.locator("#rma-title")).to_contain_text("Version 3")
    await expect(agent.get_by_text("Called the customer").first).to_be_visible()
    assert agent.errors == []  # type: ignore[attr-defined]


AXE = Path(__file__).resolve().parents[1] / "clients" / "node_modules" / "axe-core" / "axe.min.js"


async def violations(page: "Page") -> list[dict[str, Any]]:
    """What axe-core finds against WCAG 2 A and AA on the page as it stands."""
    await page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = await page.evaluate(
        """async () => (await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}))
            .violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}))"""
    )
    return found


async def test_every_page_passes_an_accessibility_audit(
    server: Server, gql: GraphQLClient, organization_id: str, browser: "Browser"
) -> None:
    users = await _world(server, organization_id)
    audited: dict[str, list[dict[str, Any]]] = {}
    customer = await _page(browser, phone=True, audited=True)
    await customer.goto(f"{server.url}/portal?organization={organization_id}")
    await expect(customer.get_by_role("heading", name="Find your order")).to_be_visible()
    audited["portal sign-in"] = await violations(customer)
    rma_id = await file_a_return(customer, server, users["ada"])
    audited["portal return"] = await violations(customer)
    await customer.get_by_role("link", name="My orders").click()
    await customer.get_by_role("link", name="Order DEMO-1001").click()
    await expect(customer.get_by_role("heading", name="Order DEMO-1001")).to_be_visible()
    audited["portal order"] = await violations(customer)

    staff = await _page(browser, audited=True)
    await staff.goto(server.url + "/admin")
    await expect(staff.get_by_role("heading", name="Log in")).to_be_visible()
    audited["back office sign-in"] = await violations(staff)
    await log_in(staff, server.url + "/admin", users["agent"])
    await expect(staff.locator("#count")).to_contain_text("1 returns")
    audited["back office list"] = await violations(staff)
    await staff.goto(f"{server.url}/admin#/rma/{rma_id}")
    await expect(staff.locator("#rma-title")).to_be_visible()
    audited["back office detail"] = await violations(staff)
    await staff.goto(f"{server.url}/admin#/warehouse/{rma_id}")
    await expect(staff.locator("section.line")).to_be_visible()
    audited["warehouse"] = await violations(staff)
    await staff.goto(f"{server.url}/admin#/dashboard")
    await expect(staff.locator("#total-returns")).to_have_text("1")
    audited["dashboard"] = await violations(staff)

    assert {page: found for page, found in audited.items() if found} == {}


async def test_the_pages_speak_french_and_need_no_token(
    server: Server, organization_id: str, browser: "Browser"
) -> None:
    page = await _page(browser, locale="fr-FR")
    answer = await page.goto(server.url + "/portal")
    assert answer is not None
    assert answer.status == 200
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    await expect(page.get_by_role("heading", name="Connexion")).to_be_visible()
    assert await page.evaluate("document.documentElement.lang") == "fr"
    # Switched by hand, kept for the next page.
    await page.get_by_label("Langue").select_option("en")
    await expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    await page.goto(server.url + "/admin")
    await expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    assert page.errors == []  # type: ignore[attr-defined]


async def test_a_forgotten_password_is_reset_from_the_mailed_link(
    server: Server, organization_id: str, browser: "Browser"
) -> None:
    from sqlalchemy import select

    from rma_graphql.db import tables as t
    from rma_graphql.service import password_resets

    names = await _world(server, organization_id)
    page = await _page(browser)
    await page.goto(f"{server.url}/portal?organization={organization_id}")
    await page.locator("#forgot-email").fill("ada@example.com")
    await page.get_by_role("button", name="Send me a link").click()
    await expect(page.get_by_text("If an account has this email")).to_be_visible()
    async with server.engine.connect() as conn:
        user = (
            (await conn.execute(select(t.app_user).where(t.app_user.c.username == names["ada"])))
            .mappings()
            .one()
        )
        asked = (
            await conn.execute(select(t.password_reset).where(t.password_reset.c.user_id == user["id"]))
        ).all()
    assert len(asked) == 1
    # The mail's link (the test makes its own token: the mailed one is kept only as a hash).
    token = await password_resets.issue(server.app.state.uow, user, 3600)
    await page.goto(f"{server.url}/portal#/reset/{token}")
    await page.get_by_role("textbox", name=re.compile("^New password")).fill("a brand new password")
    await page.get_by_role("button", name="Save the password").click()
    await expect(page.get_by_text("Your password is changed")).to_be_visible()
    assert "reset" not in page.url
    await page.get_by_label("Username").first.fill(names["ada"])
    await page.get_by_label("Password").first.fill("a brand new password")
    await page.get_by_role("button", name=re.compile("^Log in$")).first.click()
    await expect(page.get_by_role("link", name="Order DEMO-1001")).to_be_visible()
    # The link works once.
    await page.goto(f"{server.url}/portal#/reset/{token}")
    await page.get_by_role("textbox", name=re.compile("^New password")).fill("yet another password")
    await page.get_by_role("button", name="Save the password").click()
    await expect(page.get_by_role("alert")).to_contain_text("unknown, used or expired")
    await shot(page, "portal-reset")
    assert page.errors == []  # type: ignore[attr-defined]
