"""rma_graphql: a GraphQL API server for returns management (RMA orders)."""

__version__ = "0.1.0"
