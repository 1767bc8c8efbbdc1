#!/usr/bin/env node
// Auto-attendant: a voice application webhook (docs/api.md § Programmable voice).
//
//   "Press 1 for sales, 2 to leave a message":  1 → dial the SIP user $SALES_USER (voicemail if nobody answers),
//   2 → record a voicemail for $MAILBOX, anything else or nothing → an error tone and the menu again (3 times,
//   then goodbye).
//
// Run:  CPAAS_WEBHOOK_SECRET=<tenant webhook secret> PUBLIC_URL=http://127.0.0.1:3000 node docs/examples/auto-attendant.mjs
// Then point an application at $PUBLIC_URL/incoming (see docs/examples/README.md).
//
// Every request is checked against the platform's signature; unsigned or badly signed requests get 401.
// Routes: POST /incoming (first document), /menu (gather result), /dial-result, /recorded, /status (status callbacks).
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import { json, readBody, tone, verifyCpaasWebhook } from './cpaas-webhook.mjs';

/** Builds the request handler; exported for tests. */
export function autoAttendant({ secret, publicUrl, salesUser = 'sales', mailbox = 'reception', mailboxKind = 'sip-user', menuPromptUrl, log = console.log }) {
  const base = publicUrl.replace(/\/$/, '');
  const tries = new Map(); // callId → invalid answers so far
  const prompt = menuPromptUrl ? { url: menuPromptUrl } : tone([440, 480], 600);

  const menu = () => [
    { verb: 'answer' },
    { verb: 'gather', numDigits: 1, timeoutSeconds: 6, prompt, actionHook: `${base}/menu` },
  ];
  const voicemail = () => [
    { verb: 'play', source: tone([660], 400) },
    { verb: 'record', maxLengthSeconds: 60, finishOnKey: '#', beep: true, silenceTimeoutSeconds: 5, voicemail: { mailbox, kind: mailboxKind }, actionHook: `${base}/recorded` },
  ];
  const goodbye = () => [{ verb: 'play', source: tone([480, 620], 300) }, { verb: 'hangup', reason: 'goodbye' }];

  const routes = {
    '/incoming': () => menu(),
    '/menu': (ev) => {
      const digits = ev.result?.digits ?? '';
      if (digits === '1') {
        tries.delete(ev.callId);
        return [
          { verb: 'tag', data: { menu: 'sales' } },
          { verb: 'dial', targets: [{ type: 'user', name: salesUser }], timeoutSeconds: 20, actionHook: `${base}/dial-result` },
        ];
      }
      if (digits === '2') {
        tries.delete(ev.callId);
        return [{ verb: 'tag', data: { menu: 'voicemail' } }, ...voicemail()];
      }
      const n = (tries.get(ev.callId) ?? 0) + 1;
      tries.set(ev.callId, n);
      if (n >= 3) {
        tries.delete(ev.callId);
        return goodbye();
      }
      // invalid or no input: an error tone, then the menu again
      return [{ verb: 'play', source: tone([350, 440], 250, { onMs: 100, offMs: 100 }) }, { verb: 'redirect', url: `${base}/incoming` }];
    },
    '/dial-result': (ev) => (ev.result?.dialStatus === 'answered' ? [{ verb: 'hangup' }] : voicemail()),
    '/recorded': () => goodbye(),
  };

  return async (req, res) => {
    try {
      if (req.method !== 'POST') return json(res, 405, { error: 'POST only' });
      const raw = await readBody(req);
      if (!verifyCpaasWebhook(secret, req.headers, raw)) return json(res, 401, { error: 'bad signature' });
      const body = JSON.parse(raw);
      const path = new URL(req.url, 'http://x').pathname;
      if (path === '/status') {
        // status callbacks come in the platform's webhook envelope: { id, type: "call.status", data: CallStatusEvent }
        const s = body.data ?? body;
        log(`[status] ${s.callId} #${s.sequence} ${s.status}${s.cause ? ` (${s.cause})` : ''}`);
        if (s.status === 'completed') tries.delete(s.callId);
        res.writeHead(204).end();
        return;
      }
      const route = routes[path];
      if (!route) return json(res, 404, { error: `no route ${path}` });
      const doc = route(body);
      log(`[${path}] ${body.callId} ${body.event}${body.result ? ' ' + JSON.stringify(body.result) : ''} → ${doc.map((v) => v.verb).join(', ')}`);
      return json(res, 200, doc);
    } catch (err) {
      log(`error: ${err.message}`);
      return json(res, 400, { error: 'bad request' });
    }
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const port = Number(process.env.PORT ?? 3000);
  const host = process.env.HOST ?? '127.0.0.1';
  const secret = process.env.CPAAS_WEBHOOK_SECRET;
  if (!secret) {
    console.error('set CPAAS_WEBHOOK_SECRET (the tenant\'s webhookSecret, returned when the tenant was created)');
    process.exit(2);
  }
  const handler = autoAttendant({
    secret,
    publicUrl: process.env.PUBLIC_URL ?? `http://${host}:${port}`,
    salesUser: process.env.SALES_USER ?? 'sales',
    mailbox: process.env.MAILBOX ?? 'reception',
    ...(process.env.MENU_PROMPT_URL ? { menuPromptUrl: process.env.MENU_PROMPT_URL } : {}),
  });
  const server = createServer((req, res) => void handler(req, res));
  server.listen(port, host, () => console.log(`auto-attendant listening on http://${host}:${port} (application URL: ${process.env.PUBLIC_URL ?? `http://${host}:${port}`}/incoming)`));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
  process.on('SIGINT', () => server.close(() => process.exit(0)));
}
