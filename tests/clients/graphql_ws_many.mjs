// Runs several subscriptions on one graphql-ws client (one socket) and prints one JSON line
// per thing that happens to each, for the test suite to read.
//   node graphql_ws_many.mjs <ws-url> <token> <rma-id> <subscriptions> <results-each>
// Each subscription ends after <results-each> results or at its error; the script ends when
// every one has ended.
import { connect } from "./ws_client.mjs";

const [url, token, rmaId, count, wanted] = process.argv.slice(2);
const say = (line) => process.stdout.write(JSON.stringify(line) + "\n");

const client = connect(url, token, say);

const query = `subscription Updated($id: String!) { rmaOrderUpdated(id: $id) { version } }`;
const timeout = setTimeout(() => {
  say({ event: "timeout" });
  process.exit(2);
}, 30000);

async function follow(index) {
  const subscription = client.iterate({ query, variables: { id: rmaId } });
  let received = 0;
  try {
    for await (const result of subscription) {
      say({ event: "next", subscription: index, result });
      received += 1;
      if (received >= Number(wanted)) {
        await subscription.return();
        break;
      }
    }
    say({ event: "completed", subscription: index, received });
  } catch (errors) {
    // graphql-ws rejects with the `error` message's payload: the list of GraphQL errors.
    say({ event: "refused", subscription: index, errors });
  }
}

// One after the other, so that the server reads them in this order.
const followed = [];
for (let index = 0; index < Number(count); index += 1) {
  followed.push(follow(index));
  await new Promise((resolve) => setImmediate(resolve));
}
await Promise.all(followed);
clearTimeout(timeout);
await client.dispose();
