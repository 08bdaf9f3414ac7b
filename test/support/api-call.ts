/**
 * One HTTP call to the API as a client would make it, with the answer read as text and,
 * when it is JSON, parsed: what the e2e tests check statuses, bodies and leaks against.
 */
export interface ApiAnswer {
  status: number;
  text: string;
  /** The parsed JSON body, or undefined when the body is not JSON. */
  body: any;
  contentType: string;
}

export interface ApiCallOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** A whole Authorization header instead (malformed ones included). */
  authorization?: string;
  /** A body sent as JSON. */
  json?: unknown;
  /** A body sent as it is, with a JSON content type (malformed or deeply nested text). */
  raw?: string;
}

export async function apiCall(baseUrl: string, method: string, path: string, options: ApiCallOptions = {}): Promise<ApiAnswer> {
  const headers: Record<string, string> = {};
  if (options.authorization !== undefined) headers.authorization = options.authorization;
  else if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.json !== undefined || options.raw !== undefined) {
    headers['content-type'] = 'application/json';
    body = options.raw ?? JSON.stringify(options.json);
  }
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
  const text = await response.text();
  let parsed: any;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, text, body: parsed, contentType: response.headers.get('content-type') ?? '' };
}
