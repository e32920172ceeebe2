// Apollo Client as a storefront sets it up: queries and mutations over HTTP, subscriptions
// over graphql-ws, split by operation type. Prints one JSON line per step.
//   node apollo_client.mjs <http-url> <token> <rma-id>
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, gql } from "@apollo/client/core";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition } from "@apollo/client/utilities";
import { createClient } from "graphql-ws";
import WebSocket from "ws";

const [url, token, rmaId] = process.argv.slice(2);
const say = (line) => process.stdout.write(JSON.stringify(line) + "\n");

const wsClient = createClient({
  url: url.replace(/^http/, "ws"),
  webSocketImpl: WebSocket,
  connectionParams: { Authorization: `Bearer ${token}` },
  retryAttempts: 0,
  on: { connected: () => say({ event: "connected" }) },
});
const link = ApolloLink.split(
  ({ query }) => {
    const definition = getMainDefinition(query);
    return definition.kind === "OperationDefinition" && definition.operation === "subscription";
  },
  new GraphQLWsLink(wsClient),
  new HttpLink({ uri: url, headers: { Authorization: `Bearer ${token}` } }),
);
const client = new ApolloClient({ link, cache: new InMemoryCache() });

const timeout = setTimeout(() => {
  say({ event: "timeout" });
  process.exit(2);
}, 30000);
try {
  const queried = await client.query({
    query: gql`query Get($id: String) { rmaOrder(id: $id) { id version processingStatus } }`,
    variables: { id: rmaId },
  });
  say({ event: "query", data: queried.data });

  const mutated = await client.mutate({
    mutation: gql`mutation Note($id: String!) { rmaOrderCommentAdd(id: $id, text: "from Apollo") { id version } }`,
    variables: { id: rmaId },
  });
  say({ event: "mutation", data: mutated.data });

  // The test changes the RMA once the server shows this subscription live.
  const received = await new Promise((resolve, reject) => {
    const subscription = client
      .subscribe({
        query: gql`subscription Updated($id: String!) { rmaOrderUpdated(id: $id) { id version processingStatus } }`,
        variables: { id: rmaId },
      })
      .subscribe({
        next: (result) => {
          say({ event: "next", data: result.data });
          subscription.unsubscribe();
          resolve(result.data);
        },
        error: reject,
      });
  });
  say({ event: "completed", version: received.rmaOrderUpdated.version });
} catch (error) {
  say({ event: "failed", message: String(error?.message ?? error) });
  process.exitCode = 1;
} finally {
  clearTimeout(timeout);
  await wsClient.dispose();
}
