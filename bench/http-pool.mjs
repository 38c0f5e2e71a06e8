// The benches' HTTP client (bench/verify, bench/check): raw HTTP/1.1 over keep-alive sockets.
import { fork } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';

/**
 * A minimal HTTP/1.1 keep-alive client over node:tls (https: URLs) or node:net (http:): one
 * request at a time per connection (no pipelining), a pool of connections. It costs the shared
 * 2 cores several times less than node's http(s) client, so more of the machine is left to the
 * service under test. Requests are whole raw HTTP/1.1 messages (`rawRequest`).
 */
class Connection {
  constructor(pool) {
    this.pool = pool;
    this.buffer = null;
    this.pending = null;
    const url = pool.url;
    const secure = url.protocol === 'https:';
    this.socket = secure
      ? tls.connect({ host: url.hostname, port: Number(url.port || 443), ca: pool.ca, servername: tlsServerName(url.hostname) })
      : net.connect({ host: url.hostname, port: Number(url.port || 80) });
    this.socket.setNoDelay(true);
    this.ready = new Promise((resolve, reject) => {
      this.socket.once(secure ? 'secureConnect' : 'connect', resolve);
      this.socket.once('error', reject);
    });
    this.ready.catch(() => undefined);
    this.socket.on('data', (chunk) => this.onData(chunk));
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => {
      this.closed = true;
      this.pool.forget(this);
      const pending = this.pending;
      this.pending = null;
      pending?.resolve({ status: 'ERR connection closed' });
    });
  }

  send(request, keepBody) {
    return new Promise((resolve) => {
      this.pending = { resolve, keepBody };
      this.socket.write(request);
    });
  }

  onData(chunk) {
    this.buffer = this.buffer === null ? chunk : Buffer.concat([this.buffer, chunk]);
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end < 0 || this.pending === null) return;
    const head = this.buffer.toString('latin1', 0, end);
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    let total;
    let body;
    if (length) {
      total = end + 4 + Number(length[1]);
      if (this.buffer.length < total) return;
      body = this.buffer.subarray(end + 4, total);
    } else {
      // chunked (not what express sends for JSON, but be correct): wait for the last chunk
      const last = this.buffer.indexOf('\r\n0\r\n\r\n', end);
      if (last < 0) return;
      total = last + 7;
      body = Buffer.alloc(0);
    }
    const status = Number(head.slice(9, 12));
    const { resolve, keepBody } = this.pending;
    this.pending = null;
    this.buffer = this.buffer.length > total ? this.buffer.subarray(total) : null;
    let parsed;
    if (keepBody) try { parsed = JSON.parse(body.toString()); } catch { parsed = body.toString(); }
    if (/\r\nconnection: *close/i.test(head)) this.socket.end();
    resolve({ status, body: parsed });
  }
}

export class Pool {
  /** `url`: a URL (http: or https:); `options.ca`: the CA for https. */
  constructor(url, max, options = {}) {
    this.url = url;
    this.max = max;
    this.ca = options.ca;
    this.free = [];
    this.all = new Set();
    this.waiting = [];
    this.opened = 0;
  }
  forget(conn) {
    this.all.delete(conn);
    this.free = this.free.filter((c) => c !== conn);
  }
  async acquire() {
    while (this.free.length > 0) {
      const conn = this.free.pop();
      if (!conn.closed) return conn;
    }
    if (this.all.size >= this.max) return new Promise((resolve) => this.waiting.push(resolve));
    const conn = new Connection(this);
    this.all.add(conn);
    this.opened++;
    await conn.ready;
    return conn;
  }
  release(conn) {
    if (conn.closed) return;
    const waiter = this.waiting.shift();
    if (waiter) waiter(conn);
    else this.free.push(conn);
  }
  /** Opens connections ahead of a phase so that it does not pay for TLS handshakes. */
  async prewarm(n) {
    const conns = await Promise.all(Array.from({ length: Math.max(0, n - this.all.size) }, () => this.acquire()));
    conns.forEach((c) => this.release(c));
  }
  close() {
    for (const c of this.all) c.socket.destroy();
  }
}

/** One whole HTTP/1.1 request (JSON body or none) as bytes, built once before a phase. */
export function rawRequest(url, method, pathname, headers, body) {
  const payload = body === undefined ? '' : JSON.stringify(body);
  const lines = [`${method} ${pathname} HTTP/1.1`, `Host: ${url.host}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  if (body !== undefined) lines.push('Content-Type: application/json', `Content-Length: ${Buffer.byteLength(payload)}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${payload}`);
}

/** Sends one prebuilt request on a pooled connection: { status, body? }; never throws. */
export async function send(pool, request, keepBody = false) {
  let conn;
  try {
    conn = await pool.acquire();
  } catch (err) {
    return { status: `ERR ${err.code ?? err.message}` };
  }
  const result = await conn.send(request, keepBody);
  pool.release(conn);
  return result;
}

function tlsServerName(host) {
  return /^[\d.]+$|:/.test(host) ? undefined : host;
}

/**
 * A limit server of the benches in a child process on a free port: `script` (next to this file)
 * gets the port (0) as its first argument and `config` as its first IPC message, and answers
 * with its `{ port }`.
 */
function startServer(script, config) {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(new URL(script, import.meta.url)), ['0'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${script} exited (${code})`)));
    child.once('message', ({ port }) => resolve({ url: new URL(`https://127.0.0.1:${port}`), pid: child.pid, stop: () => child.kill('SIGTERM') }));
    if (config !== undefined) child.send(config);
  });
}

/** Runs `fn(pool, server)` with a pool of `maxSockets` connections to a fresh limit server, then stops it. */
async function withServer(script, config, { ca, maxSockets }, fn) {
  const server = await startServer(script, config);
  const pool = new Pool(server.url, maxSockets, { ca });
  try {
    return await fn(pool, server);
  } finally {
    pool.close();
    server.stop();
  }
}

/**
 * bench/null-server.mjs: an HTTPS server that answers every request 200 and does no work, what
 * the machine and the bench client reach with no service (`server`: its url and pid).
 */
export const withNullServer = (options, fn) => withServer('./null-server.mjs', undefined, options, fn);

/**
 * bench/bare-verifier.mjs: the null server plus jose `jwtVerify` of the body's `access_token`
 * on every request, with `config` = { jwks, options } (the service's verification options).
 */
export const withBareVerifier = (config, options, fn) => withServer('./bare-verifier.mjs', config, options, fn);

/**
 * bench/audited-server.mjs: the null server plus each answer's audit event, appended through the
 * services' OutboxGroupWriter and durable before the answer, with `config` = { databaseUrl, type, data }.
 */
export const withAuditedServer = (config, options, fn) => withServer('./audited-server.mjs', config, options, fn);

/** JSON over node:http(s) with one keep-alive agent: the set-up calls, which are not measured. */
export function jsonClient(base, headers, maxSockets, ca) {
  const url = new URL(base);
  const transport = url.protocol === 'https:' ? https : http;
  const agent = new transport.Agent({ keepAlive: true, maxSockets, ca });
  return {
    /** `replaceHeaders`: this call's headers instead of the client's (e.g. a person's bearer token alone). */
    call(method, pathname, body, replaceHeaders) {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      return new Promise((resolve) => {
        const req = transport.request(new URL(pathname, url), { method, agent, headers: { ...(replaceHeaders ?? headers), ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}) } }, (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            let parsed;
            try { parsed = JSON.parse(Buffer.concat(chunks).toString() || '{}'); } catch { parsed = {}; }
            resolve({ status: res.statusCode, body: parsed });
          });
        });
        req.on('error', (err) => resolve({ status: `ERR ${err.code ?? err.message}`, body: {} }));
        req.end(payload);
      });
    },
    close: () => agent.destroy(),
  };
}
