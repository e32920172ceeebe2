"""The notifications every organization starts with: a template in English and French for
each step a customer hears about, and a rule sending it to the RMA order's sender."""

from rma_graphql.domain.notifications import Trigger

_HTML = """<!doctype html>
<html lang="{{ language }}"><body style="font-family: sans-serif; color: #1a1a1a">
<p>{greeting}</p>
{body}
<p>{signature}</p>
</body></html>
"""


def _html(greeting: str, body: str, signature: str) -> str:
    return _HTML.replace("{greeting}", greeting).replace("{body}", body).replace("{signature}", signature)


_LINES_EN = "{% for line in lines %}- {{ line.quantity }} × {{ line.label }}\n{% endfor %}"
_LINES_HTML = "<ul>{% for line in lines %}<li>{{ line.quantity }} × {{ line.label }}</li>{% endfor %}</ul>"
_HELLO_EN = "Hello {{ recipient.name }},"
_HELLO_FR = "Bonjour {{ recipient.name }},"
_BYE_EN = "The {{ organization }} team"
_BYE_FR = "L'équipe {{ organization }}"


def _template(subject: str, hello: str, paragraphs: list[str], bye: str) -> dict[str, str]:
    text = "\n\n".join([hello, *paragraphs, bye]) + "\n"
    body = "".join(_LINES_HTML + "\n" if p == _LINES_EN else f"<p>{p}</p>\n" for p in paragraphs)
    return {"subject": subject, "text": text, "html": _html(hello, body, bye)}


DEFAULT_TEMPLATES: dict[str, dict[str, dict[str, str]]] = {
    "rma_submitted": {
        "en": _template(
            "We received your return request {{ reference }}",
            _HELLO_EN,
            [
                "We received your return request {{ reference }} for:",
                _LINES_EN,
                "We will get back to you soon.",
            ],
            _BYE_EN,
        ),
        "fr": _template(
            "Nous avons reçu votre demande de retour {{ reference }}",
            _HELLO_FR,
            [
                "Nous avons reçu votre demande de retour {{ reference }} pour :",
                _LINES_EN,
                "Nous revenons vers vous rapidement.",
            ],
            _BYE_FR,
        ),
    },
    "rma_accepted": {
        "en": _template(
            "Your return {{ reference }} is accepted",
            _HELLO_EN,
            [
                "Your return {{ reference }} is accepted.",
                "Print your return slip and put it in the parcel: {{ slip_link }}",
            ],
            _BYE_EN,
        ),
        "fr": _template(
            "Votre retour {{ reference }} est accepté",
            _HELLO_FR,
            [
                "Votre retour {{ reference }} est accepté.",
                "Imprimez votre bon de retour et glissez-le dans le colis : {{ slip_link }}",
            ],
            _BYE_FR,
        ),
    },
    "rma_rejected": {
        "en": _template(
            "Your return {{ reference }} is declined",
            _HELLO_EN,
            ["We are sorry: your return {{ reference }} is declined.", "Reason: {{ reason }}"],
            _BYE_EN,
        ),
        "fr": _template(
            "Votre retour {{ reference }} est refusé",
            _HELLO_FR,
            ["Nous sommes désolés : votre retour {{ reference }} est refusé.", "Motif : {{ reason }}"],
            _BYE_FR,
        ),
    },
    "rma_received": {
        "en": _template(
            "We received your parcel for {{ reference }}",
            _HELLO_EN,
            ["Your parcel for the return {{ reference }} arrived at our warehouse. We are checking it now."],
            _BYE_EN,
        ),
        "fr": _template(
            "Nous avons reçu votre colis pour {{ reference }}",
            _HELLO_FR,
            ["Votre colis pour le retour {{ reference }} est arrivé dans notre entrepôt. Nous le vérifions."],
            _BYE_FR,
        ),
    },
    "rma_refunded": {
        "en": _template(
            "Your refund of {{ amount }} for {{ reference }}",
            _HELLO_EN,
            ["We refunded {{ amount }} for your return {{ reference }}."],
            _BYE_EN,
        ),
        "fr": _template(
            "Votre remboursement de {{ amount }} pour {{ reference }}",
            _HELLO_FR,
            ["Nous vous avons remboursé {{ amount }} pour votre retour {{ reference }}."],
            _BYE_FR,
        ),
    },
    "rma_voucher_issued": {
        "en": _template(
            "Your voucher of {{ voucher.amount }} for {{ reference }}",
            _HELLO_EN,
            [
                "For your return {{ reference }}, here is a voucher of {{ voucher.amount }}.",
                "Code: {{ voucher.code }} (valid until {{ voucher.expires_at }})",
            ],
            _BYE_EN,
        ),
        "fr": _template(
            "Votre bon d'achat de {{ voucher.amount }} pour {{ reference }}",
            _HELLO_FR,
            [
                "Pour votre retour {{ reference }}, voici un bon d'achat de {{ voucher.amount }}.",
                "Code : {{ voucher.code }} (valable jusqu'au {{ voucher.expires_at }})",
            ],
            _BYE_FR,
        ),
    },
}

DEFAULT_RULES: list[tuple[str, str, Trigger]] = [
    ("Return submitted", "rma_submitted", Trigger(event_type="SUBMITTED")),
    ("Return accepted", "rma_accepted", Trigger(event_type="ACCEPTED")),
    ("Return rejected", "rma_rejected", Trigger(event_type="REJECTED")),
    ("Parcel received", "rma_received", Trigger(event_type="LINE_RECEIVED")),
    (
        "Refund executed",
        "rma_refunded",
        Trigger(event_type="FINANCIAL_RESOLUTION_EXECUTED", resolution_type="REFUND"),
    ),
    (
        "Voucher issued",
        "rma_voucher_issued",
        Trigger(event_type="FINANCIAL_RESOLUTION_EXECUTED", resolution_type="VOUCHER"),
    ),
]
