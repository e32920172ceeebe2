// An open-loop load for scripts/bench_writes.py: each request leaves at its own time,
// `rate` per second, whether or not the answers before it came back, on up to `connections`
// keep-alive connections (a request finding them all busy waits for one, and that wait is
// part of its latency). Latency is counted from the time the request was due, not from
// when it left: a stall of the server shows in every request it held up, where a closed
// loop (wrk: a connection sends its next request only after its answer) sends fewer
// requests during the stall and counts only those (coordinated omission).
//
// Input (a JSON file named by the first argument): base, rate, seconds, warmup (seconds
// sent first and left out of the figures: Node's own compilation slows its first
// requests), connections, query, tokens, and ids as [id, token index] pairs; every id is
// sent once, variables {id}. Output (stdout, JSON): sent, counted, errors, p50_ms, p99_ms,
// max_ms, rate (counted answers per second over the counted span).
import { readFileSync } from "node:fs";
import http from "node:http";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const base = new URL(config.base);
const agent = new http.Agent({ keepAlive: true, maxSockets: config.connections });
const total = Math.min(config.ids.length, Math.floor(config.rate * (config.warmup + config.seconds)));
const skipped = Math.floor(config.rate * config.warmup);
const latencies = [];
let errors = 0;
let answered = 0;
let sent = 0;
let lastAnswer = 0;

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
        const text = Buffer.concat(chunks).toString();
        if (index >= skipped) {
          latencies.push(performance.now() - due(index));
          lastAnswer = Math.max(lastAnswer, performance.now());
          if (response.statusCode !== 200 || text.includes('"errors"')) errors += 1;
        }
        answered += 1;
        if (answered === total) finish();
      });
    },
  );
  request.on("error", () => {
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
  latencies.sort((a, b) => a - b);
  const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  const span = (lastAnswer - due(skipped)) / 1000;
  process.stdout.write(
    JSON.stringify({
      sent,
      counted: latencies.length,
      errors,
      p50_ms: at(0.5),
      p99_ms: at(0.99),
      max_ms: latencies[latencies.length - 1],
      rate: latencies.length / span,
    }),
  );
  agent.destroy();
}

setTimeout(tick, 20);
