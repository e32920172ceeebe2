// A graphql-ws client of the test server, for the scripts here: authenticated in
// connection_init, never retrying, and printing its socket's events through `say`.
import { createClient } from "graphql-ws";
import WebSocket from "ws";

export function connect(url, token, say) {
  return createClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${token}` },
    retryAttempts: 0,
    on: {
      connected: () => say({ event: "connected" }),
      closed: (event) => say({ event: "closed", code: event.code, reason: event.reason }),
      error: (error) => say({ event: "error", message: String(error?.message ?? error) }),
    },
  });
}
