// The public HTTP API, as any client calls it: JSON in and out, the bearer token, the
// Idempotency-Key on creating POSTs, and the common error shape turned into a message.

const TOKEN_KEY = "lumiku.console.token";

/** An answer in the common error shape: `message` is the server's sentence. */
export class ApiError extends Error {
  constructor(message, { status = 0, code = "", fields = {} } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.fields = fields;
  }
}

let token = sessionStorage.getItem(TOKEN_KEY);
const signedOutListeners = [];

export function getToken() {
  return token;
}

export function setToken(value) {
  token = value;
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** Call `listener(message)` when the server refuses the token (expired, revoked). */
export function onSignedOut(listener) {
  signedOutListeners.push(listener);
}

/** A fresh idempotency key (crypto.randomUUID needs a secure context; this does not). */
export function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function withQuery(path, query) {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

async function errorOf(response) {
  let body = null;
  if ((response.headers.get("content-type") || "").includes("json")) {
    try {
      body = await response.json();
    } catch {
      body = null;
    }
  }
  const error = body && typeof body === "object" ? body.error : null;
  if (error && typeof error.message === "string") {
    const fields = (error.details && error.details.fields) || {};
    return new ApiError(error.message, { status: response.status, code: error.code || "", fields });
  }
  const retry = response.headers.get("retry-after");
  const later = retry ? ` Try again in ${retry} seconds.` : "";
  return new ApiError(`The server answered ${response.status} ${response.statusText}.${later}`, {
    status: response.status,
  });
}

/**
 * Call the API. Options: method, json (a body), form (FormData), query (an object),
 * idempotent (send a new Idempotency-Key), blob (return the body as a Blob).
 * Returns the parsed JSON (null for 204); throws ApiError.
 */
export async function api(path, { method = "GET", json, form, query, idempotent = false, blob = false } = {}) {
  const headers = { Accept: blob ? "*/*" : "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (idempotent) headers["Idempotency-Key"] = newKey();
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form;
  }
  let response;
  try {
    response = await fetch(withQuery(path, query), { method, headers, body });
  } catch {
    throw new ApiError("The server cannot be reached: check the connection and try again.");
  }
  if (!response.ok) {
    const error = await errorOf(response);
    if (response.status === 401 && token && !path.startsWith("/api/auth/login")) {
      setToken(null);
      for (const listener of signedOutListeners) listener(error.message);
    }
    throw error;
  }
  if (blob) return response.blob();
  if (response.status === 204) return null;
  return response.json();
}
