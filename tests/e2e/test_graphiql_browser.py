"""GraphiQL in headless Chromium (Debian's package, driven by Playwright): a query and a
subscription run from the page, an event from a mutation shows in the result pane, and a
cleared Authorization header really sends no token. A failing test leaves a screenshot in
``test-artifacts/``."""

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import GraphQLClient, Server
from tests.helpers import create
from tests.ws import live

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Headless as root on a machine with no network beyond loopback.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]

try:
    from playwright.async_api import Page, async_playwright
except ImportError:  # pragma: no cover - make test installs it
    async_playwright = None  # type: ignore[assignment]

# Skipped only outside CI: in CI a missing browser is a failure.
needs_browser = pytest.mark.skipif(
    os.environ.get("CI") != "true" and (CHROMIUM is None or async_playwright is None),
    reason="needs Chromium and Playwright (make test installs them)",
)
pytestmark = needs_browser


@pytest.fixture
async def page(request: pytest.FixtureRequest) -> AsyncIterator["Page"]:
    assert CHROMIUM is not None, "Chromium is not installed (Debian's chromium package)"
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(20_000)
            yield page
            report = getattr(request.node, "rep_call", None)
            if report is None or report.failed:
                ARTIFACTS.mkdir(exist_ok=True)
                await page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
        finally:
            await browser.close()


async def set_editor(page: "Page", which: str, value: str) -> None:
    """Type into one of GraphiQL's CodeMirror editors: 'query', or 'headers'."""
    if which == "headers":
        await page.get_by_role("button", name="Headers", exact=True).click()
        selector = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror"
    else:
        selector = ".graphiql-query-editor .CodeMirror"
    await page.wait_for_selector(selector)
    await page.eval_on_selector(selector, "(element, value) => element.CodeMirror.setValue(value)", value)
    # GraphiQL takes an edit in after a short debounce, then keeps it: wait for that.
    key = "graphiql:headers" if which == "headers" else "graphiql:query"
    if which == "query" or await page.evaluate("() => localStorage.getItem('graphiql:headers') !== null"):
        await page.wait_for_function(
            "([key, value]) => localStorage.getItem(key) === value", arg=[key, value]
        )


async def result_text(page: "Page") -> str:
    text: str = await page.eval_on_selector(
        ".graphiql-response .CodeMirror", "element => element.CodeMirror.getValue()"
    )
    return text


async def run(page: "Page") -> None:
    await page.get_by_role("button", name="Execute query (Ctrl-Enter)").click()


async def wait_for_result(page: "Page", fragment: str) -> str:
    await page.wait_for_function(
        "fragment => document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue().includes(fragment)",
        arg=fragment,
    )
    return await result_text(page)


async def test_graphiql_runs_a_query_and_shows_a_subscriptions_events(
    server: Server, gql: GraphQLClient, page: "Page"
) -> None:
    rma = await create(gql)
    await page.goto(server.url + "/graphql")
    await page.wait_for_selector(".graphiql-query-editor .CodeMirror")
    default_query = await page.eval_on_selector(
        ".graphiql-query-editor .CodeMirror", "element => element.CodeMirror.getValue()"
    )
    await set_editor(page, "headers", '{"Authorization": "Bearer ' + gql.token + '"}')

    await set_editor(
        page, "query", '{ rmaOrder(id: "' + rma["id"] + '") { returnReference processingStatus } }'
    )
    await run(page)
    queried = await wait_for_result(page, rma["returnReference"])

    await set_editor(
        page,
        "query",
        'subscription { rmaOrderUpdated(id: "' + rma["id"] + '") { version history { type comment } } }',
    )
    await run(page)
    await live(server)
    await gql.data(
        'mutation($id: String!) { rmaOrderCommentAdd(id: $id, text: "seen in the browser") { version } }',
        {"id": rma["id"]},
    )
    event = await wait_for_result(page, "COMMENT_ADDED")

    assert "rmaOrders(first: 10)" in default_query
    assert '"processingStatus": "NEW"' in queried
    assert '"version": 2' in event
    assert "Message is missing" not in event


async def test_a_cleared_authorization_header_sends_no_token(
    server: Server, gql: GraphQLClient, page: "Page"
) -> None:
    await page.goto(server.url + "/graphql")
    await page.wait_for_selector(".graphiql-query-editor .CodeMirror")
    requests: list[dict[str, str]] = []
    page.on(
        "request",
        lambda request: (
            requests.append(request.headers)
            if request.url.endswith("/graphql") and request.method == "POST"
            else None
        ),
    )

    await set_editor(page, "headers", "")
    await set_editor(page, "query", "{ rmaOrders { totalCount } }")
    await run(page)
    answer = await wait_for_result(page, "Unauthorized")

    assert "401" in answer or "Unauthorized" in answer
    assert requests
    assert all("authorization" not in headers for headers in requests)
