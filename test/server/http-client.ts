/**
 * Raw HTTP for the web-mode tests: node:http with no agent, so a test controls every header (Host, Origin,
 * Cookie, Sec-Fetch-Site) and sends request targets exactly as written (`/..%2f`, which fetch would normalise).
 */
import { request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
  json(): Record<string, unknown>;
}

export interface RawRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Send the body in pieces without a Content-Length (chunked). */
  chunked?: boolean;
}

export function raw(port: number, r: RawRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: `127.0.0.1:${port}`, ...r.headers };
    if (r.body !== undefined && !r.chunked) headers['content-length'] = String(Buffer.byteLength(r.body));
    const req = httpRequest(
      { host: '127.0.0.1', port, method: r.method ?? 'GET', path: r.path, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          const text = body.toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            text,
            json: () => JSON.parse(text) as Record<string, unknown>,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (r.body !== undefined && r.chunked) {
      const b = Buffer.from(r.body);
      const step = 64 * 1024;
      let i = 0;
      const pump = () => {
        while (i < b.length) {
          const ok = req.write(b.subarray(i, i + step));
          i += step;
          if (!ok) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    } else req.end(r.body);
  });
}

/** A socket that connects and says nothing; resolves when connected. */
export function idleSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

/** Resolves when the socket is closed by the other side (or errors), with whatever it received. */
export function closed(s: Socket): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString('latin1')));
    if (s.destroyed || s.readableEnded) return resolve(got);
    s.on('close', () => resolve(got));
    s.on('error', () => resolve(got));
  });
}
