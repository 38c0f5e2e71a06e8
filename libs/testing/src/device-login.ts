import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { approveDeviceLogin } from '@fedgate/dev-idp';
import type { StackFile, TokenSetResponse } from '@fedgate/contracts';

/**
 * fetch, sent again once when it failed on a kept-alive socket that the server had just closed
 * while idle (Node's 5 s keep-alive timeout races the client's reuse; the failure shows as a
 * socket error, a reset, or EPIPE when the write came after the close): such a request never
 * reached the server, so repeating it is safe. Any other failure is thrown as it is.
 */
export async function fetchRetryingClosedSocket(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    const code = ((err as Error).cause as { code?: string } | undefined)?.code;
    if (code !== 'UND_ERR_SOCKET' && code !== 'ECONNRESET' && code !== 'EPIPE') throw err;
    return fetch(url, init);
  }
}

/**
 * POSTs to a Fedgate service with the stack's API key (`apiKey: null` sends none); a string
 * body goes as it is (malformed JSON, forms), anything else as JSON. Answers status and parsed body.
 */
export async function postJson(stack: StackFile, url: string, body: unknown, init: { apiKey?: string | null; contentType?: string; newConnection?: boolean } = {}) {
  const headers: Record<string, string> = { 'content-type': init.contentType ?? 'application/json' };
  const apiKey = init.apiKey === undefined ? stack.api_key : init.apiKey;
  if (apiKey !== null) headers['x-fedgate-key'] = apiKey;
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  const res = init.newConnection ? await postOnNewConnection(url, headers, payload) : await fetchRetryingClosedSocket(url, { method: 'POST', headers, body: payload });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as Record<string, any> };
}

/**
 * A POST over a connection of its own, closed after the answer. fetch keeps connections alive,
 * and node:cluster hands each new connection to the next worker: a test that must hear every
 * worker behind one port sends each request on a new connection.
 */
function postOnNewConnection(url: string, headers: Record<string, string>, body: string): Promise<Response> {
  const send = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { method: 'POST', agent: false, headers: { ...headers, connection: 'close' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(new Response(chunks.length ? Buffer.concat(chunks) : null, { status: res.statusCode, headers: res.headers as Record<string, string> })));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * A complete `flwr login` as `username` through the stack's login-service: device
 * authorization, the user's sign-in at the dev IdP (browserless), the token poll.
 */
export async function deviceLogin(stack: StackFile, username: string): Promise<TokenSetResponse> {
  const login = stack.services.login;
  const started = await postJson(stack, `${login}/v1/device/authorize`, {});
  if (started.status !== 200) throw new Error(`device authorization failed: ${JSON.stringify(started.body)}`);
  const user = stack.idp.users.find((u) => u.username === username);
  if (!user) throw new Error(`${username} is not a dev IdP user`);
  await approveDeviceLogin({ issuer: stack.idp.issuer, userCode: started.body.user_code, username, password: user.password });
  // the first poll is due one interval after the authorization
  await new Promise((r) => setTimeout(r, started.body.interval * 1000));
  const tokens = await postJson(stack, `${login}/v1/device/token`, { device_code: started.body.device_code });
  if (tokens.status !== 200) throw new Error(`token poll failed: ${JSON.stringify(tokens.body)}`);
  return tokens.body as TokenSetResponse;
}

const sessions = new Map<string, Promise<TokenSetResponse>>();

/**
 * One device login per dev IdP user and test process, shared by the tests that act as that
 * person (a person acts only with their own token). A failed login is not kept.
 */
export function personTokens(stack: StackFile, username: string): Promise<TokenSetResponse> {
  const key = `${stack.services.login} ${username}`;
  let session = sessions.get(key);
  if (!session) {
    session = deviceLogin(stack, username);
    sessions.set(key, session);
    session.catch(() => sessions.delete(key));
  }
  return session;
}

/** The access token of a dev IdP user (see personTokens). */
export async function accessTokenOf(stack: StackFile, username: string): Promise<string> {
  return (await personTokens(stack, username)).access_token;
}
