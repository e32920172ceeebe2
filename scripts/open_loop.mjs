// An open-loop load for scripts/bench_writes.py: each request leaves at its own time,
// `rate` per second, whether or not the answers before it came back, on up to `connections`
// keep-alive connections (a request finding them all busy waits for one, and that wait is
// part of its latency). Latency is counted from the time the request was due, not from
// when it left: a stall of the server shows in every request it held up, where a closed
// loop (wrk: a connection sends its next request only after its answer) sends fewer
// requests during the stall and counts only those (coordinated omission).
//
// Input (a JSON file named by the first argument): base, rate, connections, query, tokens,
// and ids as [id, token index] pairs, each sent once, in order, with variables {id}. Output
// (stdout, JSON): latencies_ms (in the order the requests were due), errors, and elapsed_ms
// (from the first request's due time to the last answer); the figures are the caller's.
import { readFileSync } from "node:fs";
import http from "node:http";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const base = new URL(config.base);
const agent = new http.Agent({ keepAlive: true, maxSockets: config.connections });
const total = config.ids.length;
const latencies = new Array(total);
let errors = 0;
let answered = 0;
let sent = 0;

const start = performance.now() + 20;
const due = (index) => start + (index * 1000) / config.rate;

function send(index) {
  const [id, which] = config.ids[index];
  const body = JSON.stringify({ query: config.query, variables: { id } });
  const request = http.request(
    {
      host: base.hostname,
      port: base.port,
      path: "/graphql",
      method: "POST",
      agent,
      headers: {
        "Content-Type": "application/json",
        "Content-Length": Buffer.byteLength(body),
        Authorization: config.tokens[which],
      },
    },
    (response) => {
      const chunks = [];
      response.on("data", (chunk) => chunks.push(chunk));
      response.on("end", () => {
        latencies[index] = performance.now() - due(index);
        const text = Buffer.concat(chunks).toString();
        if (response.statusCode !== 200 || text.includes('"errors"')) errors += 1;
        answered += 1;
        if (answered === total) finish();
      });
    },
  );
  request.on("error", () => {
    latencies[index] = performance.now() - due(index);
    errors += 1;
    answered += 1;
    if (answered === total) finish();
  });
  request.end(body);
}

function tick() {
  const now = performance.now();
  while (sent < total && due(sent) <= now) send(sent++);
  if (sent < total) setTimeout(tick, Math.max(0, Math.min(1, due(sent) - performance.now())));
}

function finish() {
  const elapsed = performance.now() - start;
  process.stdout.write(JSON.stringify({ latencies_ms: latencies, errors, elapsed_ms: elapsed }));
  agent.destroy();
}

setTimeout(tick, 20);
