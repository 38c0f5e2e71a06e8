import http from 'node:http';
import https from 'node:https';

/** Answers larger than this are refused (the login service's answers are a few hundred bytes). */
export const MAX_ANSWER_BYTES = 1024 * 1024;

export interface RawAnswer {
  status: number;
  contentType: string;
  text: string;
}

export interface PostJsonOptions {
  headers: Readonly<Record<string, string>>;
  signal: AbortSignal;
  /** Trusted CA certificates (PEM) for https; undefined keeps Node's defaults. */
  ca?: readonly string[];
}

/**
 * POSTs a JSON body over node:http(s) and reads the whole answer. Rejects with
 * the transport error (or the signal's abort) when there is no complete answer.
 * Redirects are not followed.
 */
export function postJson(url: URL, body: unknown, options: PostJsonOptions): Promise<RawAnswer> {
  const payload = Buffer.from(JSON.stringify(body), 'utf8');
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise<RawAnswer>((resolve, reject) => {
    let settled = false;
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      reject(err);
    };
    const request = transport.request(
      url,
      {
        method: 'POST',
        headers: {
          ...options.headers,
          'content-type': 'application/json',
          accept: 'application/json',
          'content-length': String(payload.length),
        },
        signal: options.signal,
        ...(options.ca && url.protocol === 'https:' ? { ca: [...options.ca] } : {}),
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) {
            request.destroy(new Error(`the answer exceeds ${MAX_ANSWER_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        response.on('end', () => {
          if (settled) return;
          settled = true;
          resolve({
            status: response.statusCode ?? 0,
            contentType: String(response.headers['content-type'] ?? ''),
            text: Buffer.concat(chunks).toString('utf8'),
          });
        });
        response.on('error', fail);
        response.on('close', () => {
          if (!response.complete) fail(options.signal.aborted ? options.signal.reason : new Error('the connection closed before the answer was complete'));
        });
      },
    );
    request.on('error', (err) => fail(options.signal.aborted ? options.signal.reason : err));
    request.end(payload);
  });
}
