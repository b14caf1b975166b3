// Calls to the server's public API, exactly as a user's own code would make them.
// The API key lives in this module and in sessionStorage (this tab only): never in a URL,
// never in localStorage.

const KEY_STORAGE = "inference-playground.api-key";

let apiKey = sessionStorage.getItem(KEY_STORAGE) || "";
const unauthorizedListeners = [];

/** An error answer from the server, with the server's own message. */
export class ApiError extends Error {
  constructor(status, message, body = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.body = body;
  }
}

export function hasApiKey() {
  return apiKey !== "";
}

/** Use `key` for every later call ("" forgets it). */
export function setApiKey(key) {
  apiKey = key.trim();
  if (apiKey) {
    sessionStorage.setItem(KEY_STORAGE, apiKey);
  } else {
    sessionStorage.removeItem(KEY_STORAGE);
  }
}

/** Call `listener(error)` whenever the server answers 401. */
export function onUnauthorized(listener) {
  unauthorizedListeners.push(listener);
}

function headers(json) {
  const out = {};
  if (json) out["Content-Type"] = "application/json";
  if (apiKey) out.Authorization = `Bearer ${apiKey}`;
  return out;
}

/** The message of an OpenAI error body (`{"error": {"message": ...}}`), else the raw text. */
export function errorMessage(status, text) {
  try {
    const body = JSON.parse(text);
    if (body && body.error && typeof body.error.message === "string") return body.error.message;
    if (body && typeof body.detail === "string") return body.detail;
  } catch {
    // not JSON: fall through to the text itself
  }
  return text.trim() || `HTTP ${status}`;
}

async function failure(response) {
  const text = await response.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  const error = new ApiError(response.status, errorMessage(response.status, text), body);
  if (response.status === 401) unauthorizedListeners.forEach((listener) => listener(error));
  return error;
}

/** The raw Response of a successful call; an ApiError for any other status. */
export async function call(method, path, body = undefined, signal = undefined) {
  const init = { method, headers: headers(body !== undefined), signal };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await fetch(path, init);
  if (!response.ok) throw await failure(response);
  return response;
}

export async function getJson(path) {
  return (await call("GET", path)).json();
}

export async function postJson(path, body, signal = undefined) {
  return (await call("POST", path, body, signal)).json();
}

/** The served models (`/v1/models` cards: id, task, max_model_len, ready). */
export async function listModels() {
  return (await getJson("/v1/models")).data;
}
