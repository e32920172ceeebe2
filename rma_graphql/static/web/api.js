// The pages' one way to the server: GraphQL over POST /graphql, subscriptions over
// graphql-ws on the same path, the token kept for the tab (sessionStorage).
import { createClient } from "./graphql-ws.js";

const TOKEN_KEY = "rma.token";
const USER_KEY = "rma.user";

export class GraphQLError extends Error {
  constructor(errors) {
    super(errors.map((e) => e.message).join("\n"));
    this.errors = errors;
    this.code = errors[0]?.extensions?.code;
  }
}

export class Unauthorized extends Error {}

export const session = {
  get token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  get user() {
    const text = sessionStorage.getItem(USER_KEY);
    return text ? JSON.parse(text) : null;
  },
  start(token, user) {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(USER_KEY, JSON.stringify(user));
    resetSubscriptions();
  },
  end() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(USER_KEY);
    resetSubscriptions();
  },
};

// Answers `data`, or throws GraphQLError (the server's refusal, its message kept) or
// Unauthorized (no token, or one the server no longer accepts).
export async function gql(query, variables = {}) {
  const headers = { "Content-Type": "application/json", Accept: "application/json" };
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  const response = await fetch("/graphql", {
    method: "POST",
    headers,
    body: JSON.stringify({ query, variables }),
  });
  if (response.status === 401) {
    session.end();
    throw new Unauthorized("unauthorized");
  }
  const body = await response.json().catch(() => null);
  if (!body) throw new GraphQLError([{ message: `HTTP ${response.status}` }]);
  if (body.errors?.length) throw new GraphQLError(body.errors);
  return body.data;
}

// A picture to POST /uploads; its signed link, to put in a line's pictures.
export async function upload(file) {
  const body = new FormData();
  body.append("file", file);
  const response = await fetch("/uploads", {
    method: "POST",
    headers: { Authorization: `Bearer ${session.token}` },
    body,
  });
  if (response.status === 401) {
    session.end();
    throw new Unauthorized("unauthorized");
  }
  const answer = await response.json().catch(() => ({ message: `HTTP ${response.status}` }));
  if (response.status !== 201) throw new GraphQLError([{ message: `${file.name}: ${answer.message}` }]);
  return answer.url;
}

let client = null;

function resetSubscriptions() {
  if (client) client.dispose();
  client = null;
}

function wsClient() {
  if (!client) {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    client = createClient({
      url: `${scheme}://${location.host}/graphql`,
      connectionParams: () => ({ Authorization: `Bearer ${session.token}` }),
      retryAttempts: 20,
      shouldRetry: () => true,
    });
  }
  return client;
}

// Calls onData with each payload's data until the returned function is called.
export function subscribe(query, variables, onData, onError = () => {}) {
  return wsClient().subscribe(
    { query, variables },
    {
      next: (result) => (result.errors ? onError(new GraphQLError(result.errors)) : onData(result.data)),
      error: (error) => onError(error),
      complete: () => {},
    },
  );
}

// One screen at a time: loading a screen begins a new one, and what an older screen was
// still loading is dropped (Stale) instead of drawn over the new one.
export class Stale extends Error {}
let screen = 0;

export function newScreen() {
  screen += 1;
}

export async function load(query, variables = {}) {
  const mine = screen;
  try {
    return await gql(query, variables);
  } finally {
    // Answered or refused, an older screen draws neither.
    if (mine !== screen) throw new Stale("replaced by a newer screen");
  }
}
