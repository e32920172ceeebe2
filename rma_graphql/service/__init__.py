"""Use cases: one function per action, each in one transaction owned by the unit of work."""
