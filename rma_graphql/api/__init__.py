"""The GraphQL layer: types, inputs, resolvers, errors and the HTTP/websocket view."""
