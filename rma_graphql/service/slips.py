"""The printable return slip: a PDF the customer puts in the parcel.

It shows the return reference (as text and as a Code 128 barcode the warehouse scans on
arrival), the sender, the address to ship to, and the lines. It is served at a signed
link, so that a browser or an e-mail client can open it without a token.
"""

import io
import time
from collections.abc import Mapping, Sequence
from typing import Any

from reportlab.graphics.barcode import code128
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen import canvas

from rma_graphql.db import rma_reads
from rma_graphql.service.accounts import Accounts
from rma_graphql.service.unit_of_work import UnitOfWork

# How long a return slip link stays valid, at least; expiries are whole UTC days, so that
# one RMA's link reads the same all day (answers compare equal, caches keep it).
LINK_SECONDS = 30 * 24 * 3600
DAY_SECONDS = 24 * 3600
PATH = "/return-slips/{id}.pdf"


def _message(rma_id: str, expires: int) -> str:
    return f"return-slip:{rma_id}:{expires}"


def signed_path(accounts: Accounts, rma_id: str, now: float | None = None) -> str:
    earliest = int(now if now is not None else time.time()) + LINK_SECONDS
    expires = -(-earliest // DAY_SECONDS) * DAY_SECONDS
    signature = accounts.sign(_message(rma_id, expires))
    return f"{PATH.format(id=rma_id)}?expires={expires}&signature={signature}"


def link_is_valid(accounts: Accounts, rma_id: str, expires: str, signature: str) -> bool:
    if not expires.isdigit() or int(expires) < time.time():
        return False
    return accounts.verify(_message(rma_id, int(expires)), signature)


def _address(contact: Mapping[Any, Any] | None) -> list[str]:
    if not contact:
        return []
    lines = [
        contact.get("fullname"),
        contact.get("company"),
        contact.get("address"),
        contact.get("addressComplement"),
    ]
    lines.append(" ".join(p for p in (contact.get("zipcode"), contact.get("city")) if p) or None)
    lines.append(contact.get("country"))
    return [str(line) for line in lines if line]


def ship_to(location: Mapping[Any, Any], delivery_contact: Mapping[Any, Any] | None) -> list[str]:
    """Where the parcel goes: the location's name and its contact's address, or, when the
    location has no address, the RMA order's delivery contact."""
    contact = location.get("contact") or {}
    address = contact if contact.get("address") or contact.get("city") else (delivery_contact or contact)
    lines = _address(address)
    if location["name"] not in lines:
        lines.insert(0, location["name"])
    return lines


# The page: margins, and the columns of the lines' table (x in mm, width in mm).
MARGIN = 20 * mm
FONT, BOLD, SIZE = "Helvetica", "Helvetica-Bold", 10
LEADING = 4.5 * mm
COLUMNS = (("SKU", 20, 45), ("Item", 68, 78), ("Qty", 148, 12), ("Reason", 163, 27))


def _wrap(text: str, width_mm: float, font: str = FONT, size: float = SIZE) -> list[str]:
    return simpleSplit(text, font, size, width_mm * mm) or [""]


def _cells(line: Mapping[Any, Any], names: Mapping[str, str]) -> list[list[str]]:
    item = line["label"] or names.get(line["sku"]) or ""
    reason = str(line["reason"] or "").replace("_", " ").lower()
    values = (str(line["sku"]), item, str(line["quantity"]), reason)
    return [_wrap(value, width) for value, (_, _, width) in zip(values, COLUMNS, strict=True)]


def render(
    row: Mapping[Any, Any],
    lines: Sequence[Mapping[Any, Any]],
    ship_to_lines: Sequence[str],
    names: Mapping[str, str] | None = None,
) -> bytes:
    """The slip of one RMA order as PDF bytes. ``names`` gives a catalog SKU's product name,
    shown when a line has no label of its own."""
    width, height = A4
    reference = row["return_reference"]
    pages = _paginate([_cells(line, names or {}) for line in lines])
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, pageCompression=0)
    pdf.setTitle(f"Return slip {reference}")
    for number, page_rows in enumerate(pages, start=1):
        y = height - 25 * mm
        pdf.setFont(BOLD, 18)
        pdf.drawString(MARGIN, y, "Return slip")
        pdf.setFont(BOLD, 14)
        pdf.drawRightString(width - MARGIN, y, reference)
        if number == 1:
            _draw_head(pdf, row, ship_to_lines, y)
        _draw_lines(pdf, page_rows, (FIRST_TOP if number == 1 else OTHER_TOP) + 8 * mm)
        pdf.setFont(FONT, 9)
        pdf.drawString(MARGIN, 15 * mm, f"Put this slip in the parcel. Reference {reference}.")
        pdf.drawRightString(width - MARGIN, 15 * mm, f"{reference} · page {number} of {len(pages)}")
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


# Where the table of lines starts on the first page (below the addresses) and on the
# others, and where every page's table ends.
FIRST_TOP, OTHER_TOP, BOTTOM = A4[1] - 110 * mm, A4[1] - 45 * mm, 25 * mm


def _row_height(cells: list[list[str]]) -> float:
    return float(max(len(cell) for cell in cells) * LEADING + 1.5 * mm)


def _paginate(rows: list[list[list[str]]]) -> list[list[list[list[str]]]]:
    """The rows laid out on pages first, so that every page can say "page i of n"."""
    pages: list[list[list[list[str]]]] = [[]]
    y = FIRST_TOP
    for cells in rows:
        needed = _row_height(cells)
        if y - needed < BOTTOM and pages[-1]:
            pages.append([])
            y = OTHER_TOP
        pages[-1].append(cells)
        y -= needed
    return pages


def _draw_head(pdf: canvas.Canvas, row: Mapping[Any, Any], ship_to_lines: Sequence[str], y: float) -> None:
    """The first page's barcode, issue line, sender and ship-to addresses."""
    reference = row["return_reference"]
    y -= 22 * mm
    barcode = code128.Code128(reference, barHeight=15 * mm, barWidth=0.4 * mm)
    barcode.drawOn(pdf, MARGIN, y)
    pdf.setFont(FONT, 9)
    pdf.drawString(MARGIN, y - 5 * mm, f"Return {row['return_number']} · issued {row['issued_at']:%Y-%m-%d}")
    y -= 18 * mm
    for i, (title, address) in enumerate((("From", _address(row["sender"])), ("Ship to", ship_to_lines))):
        x = MARGIN + i * 90 * mm
        pdf.setFont(BOLD, 11)
        pdf.drawString(x, y, title)
        pdf.setFont(FONT, SIZE)
        wrapped = [part for text in address for part in _wrap(text, 80)]
        for j, text in enumerate(wrapped[:8]):
            pdf.drawString(x, y - (j + 1) * LEADING, text)


def _draw_lines(pdf: canvas.Canvas, page_rows: list[list[list[str]]], y: float) -> None:
    """The table of lines of one page, from ``y`` down."""
    pdf.setFont(BOLD, 11)
    for title, x, _ in COLUMNS:
        pdf.drawString(x * mm, y, title)
    y -= 8 * mm
    pdf.setFont(FONT, SIZE)
    for cells in page_rows:
        for (_, x, column_width), cell in zip(COLUMNS, cells, strict=True):
            for k, text in enumerate(cell):
                if x == 148:  # quantities align right
                    pdf.drawRightString((x + column_width) * mm, y - k * LEADING, text)
                else:
                    pdf.drawString(x * mm, y - k * LEADING, text)
        y -= _row_height(cells)


async def slip(uow: UnitOfWork, rma_id: str) -> bytes | None:
    """The slip of an RMA order, or None when there is no such order."""
    async with uow.read() as conn:
        row = await rma_reads.rma_order_by_id(conn, rma_id)
        if row is None:
            return None
        organization_id = row["organization_id"]
        lines = (await rma_reads.children_by_rma(conn, "lines", [rma_id]))[0]
        location = await rma_reads.rows_by_id(conn, "locations", [row["location_id"]])
        names = await rma_reads.sku_names(conn, organization_id, (line["sku"] for line in lines))
    assert location[0] is not None  # an RMA order's location is never deleted
    return render(row, lines, ship_to(location[0], row["delivery_contact"]), names)
