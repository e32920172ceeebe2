// Subscribes with the graphql-ws library (what GraphiQL, Apollo Client, urql and Relay use)
// and prints one JSON line per thing that happens, for the test suite to read.
//   node graphql_ws_client.mjs <ws-url> <token> <rma-id> <events-to-wait-for>
import { connect } from "./ws_client.mjs";

const [url, token, rmaId, wanted] = process.argv.slice(2);
const say = (line) => process.stdout.write(JSON.stringify(line) + "\n");

const client = connect(url, token, say);

const query = `subscription Updated($id: String!) {
  rmaOrderUpdated(id: $id) { id version processingStatus history { type } }
}`;
const results = [];
const subscription = client.iterate({ query, variables: { id: rmaId } });
const timeout = setTimeout(() => {
  say({ event: "timeout", received: results.length });
  process.exit(2);
}, 30000);
try {
  for await (const result of subscription) {
    say({ event: "next", result });
    results.push(result);
    if (results.length >= Number(wanted)) {
      // Completes the subscription: the client sends `complete` to the server.
      await subscription.return();
      break;
    }
  }
  say({ event: "completed", received: results.length });
} catch (error) {
  say({ event: "failed", message: String(error?.message ?? JSON.stringify(error)) });
  process.exitCode = 1;
} finally {
  clearTimeout(timeout);
  await client.dispose();
}
