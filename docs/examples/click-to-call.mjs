#!/usr/bin/env node
// Click-to-call: the platform calls the agent first; when the agent answers, it dials the customer and bridges
// the two (docs/api.md § Programmable voice). The application is an inline document, so no webhook server is
// needed; with STATUS_PORT the script also receives the signed status callbacks and prints them.
//
//   CPAAS_API_KEY=<tenant key> AGENT=user:alice CUSTOMER=+14155550123 FROM=+14155550199 node docs/examples/click-to-call.mjs
//
// Environment: CPAAS_URL (http://127.0.0.1:8080), CPAAS_API_KEY, AGENT (user:<sip user>, identity:<id>, a number or
// sip: URI), CUSTOMER (number, sip: URI, user:… or identity:…), FROM (caller id: a tenant number or a name),
// STATUS_PORT + CPAAS_WEBHOOK_SECRET (optional: print status callbacks; STATUS_HOST defaults to 127.0.0.1).
import { createServer } from 'node:http';
import { readBody, tone, verifyCpaasWebhook } from './cpaas-webhook.mjs';

const api = (process.env.CPAAS_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
const key = process.env.CPAAS_API_KEY;
const agent = process.env.AGENT;
const customer = process.env.CUSTOMER;
const from = process.env.FROM ?? 'click-to-call';
if (!key || !agent || !customer) {
  console.error('set CPAAS_API_KEY, AGENT and CUSTOMER (see the header of this file)');
  process.exit(2);
}

/** `+1415…`, `sip:…`, `user:x`, `identity:x` → a DialTarget object (the API also takes the string form for `to`). */
function target(s) {
  if (/^\+?[0-9]{2,15}$/.test(s)) return { type: 'phone', number: s };
  if (/^sips?:/.test(s)) return { type: 'sip', uri: s };
  const [kind, name] = s.split(/:(.*)/s);
  if (kind === 'user') return { type: 'user', name };
  if (kind === 'identity') return { type: 'identity', identity: name };
  throw new Error(`cannot parse target ${s}`);
}

let statusServer;
let statusUrl;
if (process.env.STATUS_PORT) {
  const host = process.env.STATUS_HOST ?? '127.0.0.1';
  statusServer = createServer(async (req, res) => {
    const raw = await readBody(req);
    if (!verifyCpaasWebhook(process.env.CPAAS_WEBHOOK_SECRET, req.headers, raw)) return void res.writeHead(401).end();
    const s = JSON.parse(raw).data;
    console.log(`status #${s.sequence}: ${s.status}${s.cause ? ` (${s.cause}, ${s.durationSeconds ?? 0} s)` : ''}`);
    res.writeHead(204).end();
  });
  await new Promise((r) => statusServer.listen(Number(process.env.STATUS_PORT), host, r));
  statusUrl = `http://${host}:${process.env.STATUS_PORT}/status`;
}

// The agent hears a short tone, then the customer rings; the customer sees FROM as the caller id.
const application = {
  document: [
    { verb: 'play', source: tone([440], 300) },
    { verb: 'dial', targets: [target(customer)], callerId: from, timeoutSeconds: 30 },
    { verb: 'hangup' },
  ],
};

const res = await fetch(`${api}/v1/calls`, {
  method: 'POST',
  headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': `c2c-${Date.now()}` },
  body: JSON.stringify({ to: agent, from, application, ringTimeoutSeconds: 30, tag: { source: 'click-to-call' }, ...(statusUrl ? { statusCallback: { url: statusUrl } } : {}) }),
});
const call = await res.json();
if (!res.ok) {
  console.error(`POST /v1/calls failed: ${res.status} ${call.code}: ${call.message}`);
  statusServer?.close();
  process.exit(1);
}
console.log(`calling ${agent} (call ${call.callId}); on answer: dial ${customer}`);

// Follow the call until it ends (GET /v1/calls/{id} has `live` while it is in progress).
let last = '';
for (;;) {
  await new Promise((r) => setTimeout(r, 1000));
  const r = await fetch(`${api}/v1/calls/${call.callId}`, { headers: { authorization: `Bearer ${key}` } });
  if (r.status === 404) break;
  const c = await r.json();
  const now = c.live ? `${c.live.status}${c.live.verb ? ` (${c.live.verb})` : ''}` : c.state;
  if (now !== last) console.log(`call ${call.callId}: ${now}`);
  last = now;
  if (!c.live && c.state === 'ended') {
    console.log(`ended: ${c.endReason ?? ''} ${c.durationSeconds ?? 0} s`);
    break;
  }
}
statusServer?.close();
