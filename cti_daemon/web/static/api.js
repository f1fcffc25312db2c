// Calls to the daemon's API with the session cookie. A failure carries the API's error (code, message,
// field, allowed) so the page can say it as a sentence.
export class ApiFailure extends Error {
  constructor(status, error) {
    super((error && error.message) || `HTTP ${status}`);
    this.status = status;
    this.code = (error && error.code) || "http_" + status;
    this.field = error && error.field;
    this.allowed = error && error.allowed;
    this.problems = (error && error.problems) || [];
    this.retryAfter = null;
  }
}

export async function call(method, path, body) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const resp = await fetch(path, init);
  if (resp.status === 204) return null;
  const data = resp.headers.get("Content-Type")?.includes("json") ? await resp.json() : null;
  if (!resp.ok) {
    const failure = new ApiFailure(resp.status, data && data.error);
    failure.retryAfter = resp.headers.get("Retry-After");
    throw failure;
  }
  return data;
}
