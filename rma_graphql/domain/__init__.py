"""The pure domain: statuses, state machines, the RMA order aggregate and its rules.

Imports the standard library and ``transitions`` only.
"""
