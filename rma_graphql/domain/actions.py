"""What can be done to an RMA order, named once: the machines' triggers, the aggregate's
handlers, the customer rules, availableActions and the API's resolvers all use these."""

import re
from enum import StrEnum


class Action(StrEnum):
    """An RMA order action; the value is the name ``availableActions`` and errors show."""

    # State-machine actions, in the order availableActions lists them.
    UPDATE = "update"
    SUBMIT = "submit"
    ACCEPT = "accept"
    REJECT = "reject"
    CANCEL = "cancel"
    HOLD = "hold"
    RESUME = "resume"
    FLAG_ANOMALY = "flagAnomaly"
    RESOLVE_ANOMALY = "resolveAnomaly"
    DELETE = "delete"
    REQUEST_FULFILLMENT = "requestFulfillment"
    START_FULFILLMENT = "startFulfillment"
    COMPLETE_PROCESSING = "completeProcessing"
    UPDATE_DELIVERY_STATUS = "updateDeliveryStatus"
    # Actions on what the RMA order contains (a line, a resolution) or creates.
    RECEIVE_LINE = "receiveLine"
    INSPECT_LINE = "inspectLine"
    CREATE_FINANCIAL_RESOLUTION = "createFinancialResolution"
    EXECUTE_FINANCIAL_RESOLUTION = "executeFinancialResolution"
    FAIL_FINANCIAL_RESOLUTION = "failFinancialResolution"
    REJECT_FINANCIAL_RESOLUTION = "rejectFinancialResolution"
    CREATE_REPLACEMENT_ORDER = "createReplacementOrder"
    # Changes that move no status.
    ADD_COMMENT = "addComment"
    CREATE_SHIPMENT = "createShipment"
    ADD_SHIPMENT_EVENT = "addShipmentEvent"
    SET_CUSTOM_STATE = "setCustomState"
    CORRECT = "correct"
    ANONYMIZE = "anonymize"

    @property
    def words(self) -> str:
        """The action in a sentence: "A customer may not {words} an RMA order."."""
        return _WORDS.get(self) or re.sub(r"[A-Z]", lambda m: f" {m.group().lower()}", self.value)


_WORDS = {
    Action.ADD_COMMENT: "comment on",
    Action.CREATE_SHIPMENT: "add a shipment to",
    Action.ADD_SHIPMENT_EVENT: "record a carrier scan on",
    Action.RECEIVE_LINE: "receive units of",
    Action.INSPECT_LINE: "inspect units of",
    Action.CREATE_FINANCIAL_RESOLUTION: "create a financial resolution on",
    Action.EXECUTE_FINANCIAL_RESOLUTION: "execute a financial resolution of",
    Action.FAIL_FINANCIAL_RESOLUTION: "fail a financial resolution of",
    Action.REJECT_FINANCIAL_RESOLUTION: "reject a financial resolution of",
    Action.CREATE_REPLACEMENT_ORDER: "create a replacement order for",
    Action.SET_CUSTOM_STATE: "set the custom state of",
}
