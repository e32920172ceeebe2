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
from reportlab.pdfgen import canvas
from sqlalchemy import select

from rma_graphql.db import tables as t
from rma_graphql.service.accounts import Accounts
from rma_graphql.service.unit_of_work import UnitOfWork

# How long a return slip link stays valid.
LINK_SECONDS = 30 * 24 * 3600
PATH = "/return-slips/{id}.pdf"


def _message(rma_id: str, expires: int) -> str:
    return f"return-slip:{rma_id}:{expires}"


def signed_path(accounts: Accounts, rma_id: str, now: float | None = None) -> str:
    expires = int(now if now is not None else time.time()) + LINK_SECONDS
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


def render(row: Mapping[Any, Any], lines: Sequence[Mapping[Any, Any]], location: Mapping[Any, Any]) -> bytes:
    """The slip of one RMA order as PDF bytes."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, pageCompression=0)
    reference = row["return_reference"]
    pdf.setTitle(f"Return slip {reference}")
    width, height = A4
    y = height - 25 * mm
    pdf.setFont("Helvetica-Bold", 18)
    pdf.drawString(20 * mm, y, "Return slip")
    pdf.setFont("Helvetica-Bold", 14)
    pdf.drawRightString(width - 20 * mm, y, reference)
    y -= 22 * mm
    barcode = code128.Code128(reference, barHeight=15 * mm, barWidth=0.4 * mm)
    barcode.drawOn(pdf, 20 * mm, y)
    pdf.setFont("Helvetica", 9)
    pdf.drawString(20 * mm, y - 5 * mm, f"Return {row['return_number']} · issued {row['issued_at']:%Y-%m-%d}")
    y -= 18 * mm
    blocks = (
        ("From", _address(row["sender"])),
        ("Ship to", [location["name"], *_address(location.get("contact"))[1:]]),
    )
    for i, (title, address) in enumerate(blocks):
        x = 20 * mm + i * 90 * mm
        pdf.setFont("Helvetica-Bold", 11)
        pdf.drawString(x, y, title)
        pdf.setFont("Helvetica", 10)
        for j, text in enumerate(address):
            pdf.drawString(x, y - (j + 1) * 5 * mm, text[:60])
    y -= 45 * mm
    pdf.setFont("Helvetica-Bold", 11)
    for x, title in ((20, "SKU"), (70, "Item"), (150, "Qty"), (165, "Reason")):
        pdf.drawString(x * mm, y, title)
    pdf.setFont("Helvetica", 10)
    for line in lines:
        y -= 6 * mm
        if y < 25 * mm:
            pdf.showPage()
            pdf.setFont("Helvetica", 10)
            y = height - 25 * mm
        pdf.drawString(20 * mm, y, str(line["sku"])[:28])
        pdf.drawString(70 * mm, y, str(line["label"] or "")[:45])
        pdf.drawRightString(158 * mm, y, str(line["quantity"]))
        pdf.drawString(165 * mm, y, str(line["reason"]).replace("_", " ").lower()[:22])
    pdf.setFont("Helvetica", 9)
    pdf.drawString(20 * mm, 15 * mm, f"Put this slip in the parcel. Reference {reference}.")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


async def slip(uow: UnitOfWork, rma_id: str) -> bytes | None:
    """The slip of an RMA order, or None when there is no such order."""
    async with uow.read() as conn:
        found = await conn.execute(select(t.rma_order).where(t.rma_order.c.id == rma_id))
        row = found.mappings().first()
        if row is None:
            return None
        lines = await conn.execute(
            select(t.rma_order_line)
            .where(t.rma_order_line.c.rma_order_id == rma_id)
            .order_by(t.rma_order_line.c.position)
        )
        location = await conn.execute(select(t.location).where(t.location.c.id == row["location_id"]))
        return render(row, list(lines.mappings()), location.mappings().one())
