// An open-loop load for scripts/bench_writes.py: each request leaves at its own time,
// `rate` per second, whether or not the answers before it came back, on up to `connections`
// keep-alive connections (a request finding them all busy waits for one, and that wait is
// part of its latency). Latency is counted from the time the request was due, not from
// when it left: a stall of the server shows in every request it held up, where a closed
// loop (wrk: a connection sends its next request only after its answer) sends fewer
// requests during the stall and counts only those (coordinated omission).
//
// HTTP/1.1 is written and read on plain sockets, as wrk does: Node's HTTP client cost about
// 300 µs of CPU per request, a load generator's share of two cores taken from the server it
// measures. An answer is read by its Content-Length (the server's answers all carry one);
// one without it ends the run with an error.
//
// Input (a JSON file named by the first argument): base, rate, connections, query, tokens,
// and ids as [id, token index] pairs, each sent once, in order, with variables {id}. Output
// (stdout, JSON): latencies_ms (in the order the requests were due), errors, elapsed_ms
// (from the first request's due time to the last answer) and started_at_ms (that due time,
// in milliseconds since the epoch, to match a stall with other logs); the figures are the
// caller's.
import { readFileSync } from "node:fs";
import net from "node:net";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const base = new URL(config.base);
const host = base.hostname;
const port = Number(base.port);
const total = config.ids.length;
const latencies = new Array(total);
const idle = [];
const queued = [];
let opened = 0;
let errors = 0;
let answered = 0;
let sent = 0;

const start = performance.now() + 20;
const startedAt = Date.now() + 20;
const due = (index) => start + (index * 1000) / config.rate;
const HEAD_END = Buffer.from("\r\n\r\n");

function request(index) {
  const [id, which] = config.ids[index];
  const body = Buffer.from(JSON.stringify({ query: config.query, variables: { id } }));
  const head =
    `POST /graphql HTTP/1.1\r\nHost: ${base.host}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${body.length}\r\nAuthorization: ${config.tokens[which]}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), body]);
}

function answer(index, failed) {
  latencies[index] = performance.now() - due(index);
  if (failed) errors += 1;
  answered += 1;
  if (answered === total) finish();
}

// One keep-alive connection: one request on its way at a time, its answer read whole.
function connection() {
  const socket = net.connect({ host, port, noDelay: true });
  const conn = {
    current: -1,
    send(index) {
      conn.current = index;
      socket.write(request(index));
    },
    close: () => socket.destroy(),
  };
  let buffered = Buffer.alloc(0);
  socket.on("data", (chunk) => {
    buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
    const end = buffered.indexOf(HEAD_END);
    if (end < 0) return;
    const head = buffered.subarray(0, end).toString("latin1");
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (length === null) throw new Error(`an answer without Content-Length: ${head}`);
    const size = end + HEAD_END.length + Number(length[1]);
    if (buffered.length < size) return;
    const status = Number(head.slice(9, 12));
    const text = buffered.subarray(end + HEAD_END.length, size).toString();
    buffered = buffered.subarray(size);
    const index = conn.current;
    conn.current = -1;
    answer(index, status !== 200 || text.includes('"errors"'));
    free(conn);
  });
  socket.on("error", () => {});
  socket.on("close", () => {
    opened -= 1;
    const at = idle.indexOf(conn);
    if (at >= 0) idle.splice(at, 1);
    if (conn.current >= 0) answer(conn.current, true);
    if (queued.length) send(queued.shift());
  });
  opened += 1;
  return conn;
}

function free(conn) {
  if (queued.length) conn.send(queued.shift());
  else idle.push(conn);
}

function send(index) {
  const conn = idle.pop() ?? (opened < config.connections ? connection() : null);
  if (conn === null) queued.push(index);
  else conn.send(index);
}

function tick() {
  const now = performance.now();
  while (sent < total && due(sent) <= now) send(sent++);
  if (sent < total) setTimeout(tick, Math.max(0, due(sent) - performance.now()));
}

function finish() {
  const elapsed = performance.now() - start;
  process.stdout.write(JSON.stringify({ latencies_ms: latencies, errors, elapsed_ms: elapsed, started_at_ms: startedAt }));
  for (const conn of idle) conn.close();
}

setTimeout(tick, 20);
