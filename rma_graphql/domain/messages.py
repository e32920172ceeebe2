"""Languages, and the sentences an RMA order's history is told in.

Languages are BCP 47 tags (``en``, ``fr``, ``fr-CA``); English and French ship. A message
is asked for in a language, else the organization's default language, else English, each
tried as given and then as its base language (``fr-CA``, then ``fr``).

A message is a template of an event type, with placeholders filled from the event:
``{actor}`` (who, and what kind of actor: "Ada (user)"), ``{changes}`` (every status
change: "processing: requested → accepted"), ``{dimension}``, ``{from}`` and ``{to}``
(the first change's), and ``{comment}``. An organization may replace the template of an
event type in a language.
"""

import string
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from rma_graphql.domain.errors import BadUserInputError
from rma_graphql.domain.statuses import EventType

T = TypeVar("T")
DEFAULT_LANGUAGE = "en"
LANGUAGES = ("en", "fr")
MAX_LANGUAGE_LENGTH = 35
MAX_MESSAGE_LENGTH = 500
PLACEHOLDERS = frozenset({"actor", "changes", "dimension", "from", "to", "comment"})


def candidates(language: str | None, default: str | None) -> list[str]:
    """The languages to try, in order: the one asked for, the organization's, English; each
    as given, then its base language."""
    found: list[str] = []
    for tag in (language, default, DEFAULT_LANGUAGE):
        if tag:
            for candidate in (tag, tag.split("-", 1)[0]):
                if candidate not in found:
                    found.append(candidate)
    return found


_E = EventType
TEMPLATES: dict[str, dict[EventType, str]] = {
    "en": {
        _E.CREATED: "Created by {actor}",
        _E.UPDATED: "Updated by {actor}",
        _E.SUBMITTED: "Submitted by {actor}",
        _E.ACCEPTED: "Accepted by {actor}",
        _E.REJECTED: "Rejected by {actor}: {comment}",
        _E.CANCELED: "Canceled by {actor}: {comment}",
        _E.HELD: "Put on hold by {actor}: {comment}",
        _E.RESUMED: "Resumed by {actor}",
        _E.ANOMALY_FLAGGED: "Anomaly flagged by {actor}: {comment}",
        _E.ANOMALY_RESOLVED: "Anomaly resolved by {actor}",
        _E.DELETED: "Deleted by {actor}",
        _E.FULFILLMENT_REQUESTED: "Fulfillment requested by {actor}",
        _E.FULFILLMENT_STARTED: "Fulfillment started by {actor}",
        _E.PROCESSING_COMPLETED: "Processing completed by {actor}",
        _E.DELIVERY_STATUS_CHANGED: "Delivery {from} → {to}, by {actor}",
        _E.FINANCIAL_STATUS_CHANGED: "Payment {from} → {to}, by {actor}",
        _E.FINANCIAL_RESOLUTION_CREATED: "Financial resolution created by {actor}",
        _E.FINANCIAL_RESOLUTION_EXECUTED: "Financial resolution executed by {actor}",
        _E.COMMENT_ADDED: "Comment by {actor}: {comment}",
        _E.SHIPMENT_CREATED: "Return shipment created by {actor}",
        _E.SHIPMENT_SCANNED: "Carrier scan recorded by {actor}",
        _E.LINE_RECEIVED: "Items received by {actor}",
        _E.LINE_INSPECTED: "Items inspected by {actor}",
        _E.FINANCIAL_RESOLUTION_FAILED: "Financial resolution failed, recorded by {actor}",
        _E.FINANCIAL_RESOLUTION_REJECTED: "Financial resolution rejected by {actor}",
        _E.REPLACEMENT_ORDER_CREATED: "Replacement order created by {actor}",
        _E.CUSTOM_STATE_CHANGED: "State set to {comment} by {actor}",
        _E.CORRECTED: "Details corrected by {actor}",
        _E.ANONYMIZED: "Personal data erased by {actor}",
    },
    "fr": {
        _E.CREATED: "Créé par {actor}",
        _E.UPDATED: "Modifié par {actor}",
        _E.SUBMITTED: "Soumis par {actor}",
        _E.ACCEPTED: "Accepté par {actor}",
        _E.REJECTED: "Refusé par {actor} : {comment}",
        _E.CANCELED: "Annulé par {actor} : {comment}",
        _E.HELD: "Mis en attente par {actor} : {comment}",
        _E.RESUMED: "Repris par {actor}",
        _E.ANOMALY_FLAGGED: "Anomalie signalée par {actor} : {comment}",
        _E.ANOMALY_RESOLVED: "Anomalie résolue par {actor}",
        _E.DELETED: "Supprimé par {actor}",
        _E.FULFILLMENT_REQUESTED: "Traitement demandé par {actor}",
        _E.FULFILLMENT_STARTED: "Traitement commencé par {actor}",
        _E.PROCESSING_COMPLETED: "Traitement terminé par {actor}",
        _E.DELIVERY_STATUS_CHANGED: "Livraison {from} → {to}, par {actor}",
        _E.FINANCIAL_STATUS_CHANGED: "Paiement {from} → {to}, par {actor}",
        _E.FINANCIAL_RESOLUTION_CREATED: "Résolution financière créée par {actor}",
        _E.FINANCIAL_RESOLUTION_EXECUTED: "Résolution financière exécutée par {actor}",
        _E.COMMENT_ADDED: "Commentaire de {actor} : {comment}",
        _E.SHIPMENT_CREATED: "Expédition retour créée par {actor}",
        _E.SHIPMENT_SCANNED: "Scan transporteur enregistré par {actor}",
        _E.LINE_RECEIVED: "Articles reçus par {actor}",
        _E.LINE_INSPECTED: "Articles inspectés par {actor}",
        _E.FINANCIAL_RESOLUTION_FAILED: "Échec de la résolution financière, enregistré par {actor}",
        _E.FINANCIAL_RESOLUTION_REJECTED: "Résolution financière refusée par {actor}",
        _E.REPLACEMENT_ORDER_CREATED: "Commande de remplacement créée par {actor}",
        _E.CUSTOM_STATE_CHANGED: "État {comment} fixé par {actor}",
        _E.CORRECTED: "Informations corrigées par {actor}",
        _E.ANONYMIZED: "Données personnelles effacées par {actor}",
    },
}

# How an actor is named ({name} is its name), and the words of the statuses and dimensions.
_ACTORS = {
    "en": {"USER": "{name} (user)", "API_CLIENT": "{name} (API client)", "SYSTEM": "the system"},
    "fr": {"USER": "{name} (utilisateur)", "API_CLIENT": "{name} (client API)", "SYSTEM": "le système"},
}
_WORDS = {
    "en": {
        "PROCESSING": "processing",
        "DELIVERY": "delivery",
        "FINANCIAL": "payment",
        "FULFILLMENT": "fulfillment",
        "NEW": "new",
        "REQUESTED": "requested",
        "ACCEPTED": "accepted",
        "REJECTED": "rejected",
        "CANCELED": "canceled",
        "COMPLETE": "complete",
        "ON_HOLD": "on hold",
        "ANOMALY": "anomaly",
        "DELETED": "deleted",
        "PENDING": "pending",
        "HANDLED": "handled",
        "DELIVERING": "on its way",
        "DELIVERED": "delivered",
        "DELIVERED_TO_SENDER": "returned to sender",
        "ERROR": "error",
        "REFUNDED": "refunded",
        "PARTIALLY_REFUNDED": "partly refunded",
        "REFUND_REJECTED": "refund refused",
        "NONE": "none",
        "EXECUTION_ERROR": "payment error",
        "IN_PROGRESS": "in progress",
    },
    "fr": {
        "PROCESSING": "traitement",
        "DELIVERY": "livraison",
        "FINANCIAL": "paiement",
        "FULFILLMENT": "exécution",
        "NEW": "nouveau",
        "REQUESTED": "demandé",
        "ACCEPTED": "accepté",
        "REJECTED": "refusé",
        "CANCELED": "annulé",
        "COMPLETE": "terminé",
        "ON_HOLD": "en attente",
        "ANOMALY": "anomalie",
        "DELETED": "supprimé",
        "PENDING": "en attente",
        "HANDLED": "pris en charge",
        "DELIVERING": "en route",
        "DELIVERED": "livré",
        "DELIVERED_TO_SENDER": "retourné à l'expéditeur",
        "ERROR": "erreur",
        "REFUNDED": "remboursé",
        "PARTIALLY_REFUNDED": "remboursé en partie",
        "REFUND_REJECTED": "remboursement refusé",
        "NONE": "aucun",
        "EXECUTION_ERROR": "erreur de paiement",
        "IN_PROGRESS": "en cours",
    },
}


def status_words(language: str) -> dict[str, str]:
    """Dimensions and statuses in words of ``language`` (English where it has none)."""
    return _WORDS.get(language.split("-", 1)[0], _WORDS[DEFAULT_LANGUAGE])


def check_template(text: str, field: str) -> str:
    """A template may use only the placeholders above (BAD_USER_INPUT naming the first other)."""
    if not text.strip() or len(text) > MAX_MESSAGE_LENGTH:
        raise BadUserInputError(f"A message is 1 to {MAX_MESSAGE_LENGTH} characters.", field)
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError as error:
        raise BadUserInputError(
            f"The message does not parse: {error} (write {{{{ for a brace).", field
        ) from None
    for name in names:
        if name not in PLACEHOLDERS:
            raise BadUserInputError(
                f"Unknown placeholder {{{name}}}: use {', '.join(f'{{{p}}}' for p in sorted(PLACEHOLDERS))}.",
                field,
                placeholder=name,
            )
    return text


def told_in(texts: Mapping[str, T], language: str | None, default: str | None) -> tuple[T, str] | None:
    """The text of the first candidate language that has one, and that language."""
    for candidate in candidates(language, default):
        if candidate in texts:
            return texts[candidate], candidate
    return None


def render(
    template: str,
    language: str,
    actor: Mapping[str, Any],
    changes: Sequence[Mapping[str, Any]],
    comment: str | None,
) -> str:
    """The sentence: the template with the event's values, in words of ``language``."""
    base = language.split("-", 1)[0]
    words = status_words(language)
    naming = _ACTORS.get(base, _ACTORS[DEFAULT_LANGUAGE])
    kind = str(actor.get("type") or "SYSTEM")
    who = naming.get(kind, "{name}").format(name=actor.get("name") or actor.get("id") or "?")

    def word(value: Any) -> str:
        return words.get(value, value) if value else ""

    said = [f"{word(c['dimension'])}: {word(c['from']) or '…'} → {word(c['to'])}" for c in changes]
    first = changes[0] if changes else {}
    values = {
        "actor": who,
        "changes": "; ".join(said),
        "dimension": word(first.get("dimension")),
        "from": word(first.get("from")),
        "to": word(first.get("to")),
        "comment": comment or "",
    }
    text = template.format_map(values)
    # A template ending on a placeholder left empty (no comment) ends on the words before it.
    return text.rstrip().removesuffix(":").rstrip()
