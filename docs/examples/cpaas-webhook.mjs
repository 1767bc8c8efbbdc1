// Tiny helpers shared by the examples: read a request body, check the platform's webhook signature
// (docs/webhooks.md: X-Cpaas-Signature = v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>), answer JSON.
// No dependencies: node:http and node:crypto only.
import { createHmac, timingSafeEqual } from 'node:crypto';

export function readBody(req, limit = 1_000_000) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > limit) reject(new Error('body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** True when the request carries a valid signature of `rawBody` made with `secret` in the last 5 minutes. */
export function verifyCpaasWebhook(secret, headers, rawBody, toleranceSeconds = 300) {
  const ts = headers['x-cpaas-timestamp'];
  const sig = headers['x-cpaas-signature'];
  if (!secret || !ts || !sig || Math.abs(Date.now() / 1000 - Number(ts)) > toleranceSeconds) return false;
  const expected = Buffer.from('v1=' + createHmac('sha256', secret).update(`${ts}.${rawBody}`).digest('hex'));
  return String(sig).split(',').some((s) => {
    const got = Buffer.from(s.trim());
    return got.length === expected.length && timingSafeEqual(got, expected);
  });
}

export function json(res, status, body) {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** A tone prompt (the platform has no text-to-speech: use tones, WAV URLs or media-library files). */
export const tone = (frequencies, durationMs, extra = {}) => ({ tone: { frequencies, durationMs, ...extra } });
