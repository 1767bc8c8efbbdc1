/**
 * SIP message model, parser and serializer (RFC 3261 §7, §20, §25).
 *
 * Headers are kept as an ordered list of [canonical name, value] pairs; multi-value headers that arrive
 * comma-joined (Via, Route, Record-Route, Contact) are split so each value is one entry.
 */

export class SipParseError extends Error {
  constructor(message: string, readonly partial?: SipMessage) {
    super(message);
    this.name = 'SipParseError';
  }
}

export interface SipUri {
  scheme: string;
  user?: string;
  password?: string;
  host: string;
  port?: number;
  params: Record<string, string | null>;
  headers?: string;
}

export interface NameAddr {
  display?: string;
  uri: string;
  params: Record<string, string | null>;
}

export interface Via {
  transport: string;
  host: string;
  port?: number;
  params: Record<string, string | null>;
}

const COMPACT: Record<string, string> = {
  v: 'via', f: 'from', t: 'to', i: 'call-id', m: 'contact', l: 'content-length', c: 'content-type',
  k: 'supported', s: 'subject', e: 'content-encoding', o: 'event', r: 'refer-to', b: 'referred-by',
  x: 'session-expires', u: 'allow-events', a: 'accept-contact', j: 'reject-contact', d: 'request-disposition',
  y: 'identity', n: 'identity-info',
};

const CANONICAL: Record<string, string> = {
  'call-id': 'Call-ID', cseq: 'CSeq', 'www-authenticate': 'WWW-Authenticate', 'mime-version': 'MIME-Version',
  rack: 'RAck', rseq: 'RSeq', 'user-agent': 'User-Agent',
};

/** Headers whose comma-separated values are split into separate entries. */
const SPLIT = new Set(['via', 'route', 'record-route', 'contact']);

export function canonicalName(raw: string): string {
  const lower = raw.trim().toLowerCase();
  const full = COMPACT[lower] ?? lower;
  return CANONICAL[full] ?? full.replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase());
}

export class SipMessage {
  method?: string;
  uri?: string;
  status?: number;
  reason?: string;
  headers: Array<[string, string]> = [];
  body: Buffer = Buffer.alloc(0);

  static request(method: string, uri: string): SipMessage {
    const m = new SipMessage();
    m.method = method;
    m.uri = uri;
    return m;
  }

  static response(status: number, reason: string): SipMessage {
    const m = new SipMessage();
    m.status = status;
    m.reason = reason;
    return m;
  }

  get isRequest(): boolean {
    return this.method !== undefined;
  }

  get(name: string): string | undefined {
    const n = canonicalName(name);
    return this.headers.find(([k]) => k === n)?.[1];
  }

  getAll(name: string): string[] {
    const n = canonicalName(name);
    return this.headers.filter(([k]) => k === n).map(([, v]) => v);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Replaces every value of `name` with one value (appended at the end if absent). */
  set(name: string, value: string): void {
    const n = canonicalName(name);
    const i = this.headers.findIndex(([k]) => k === n);
    this.remove(n);
    if (i < 0 || i > this.headers.length) this.headers.push([n, value]);
    else this.headers.splice(i, 0, [n, value]);
  }

  add(name: string, value: string): void {
    const n = canonicalName(name);
    if (SPLIT.has(n.toLowerCase())) for (const v of splitList(value)) this.headers.push([n, v]);
    else this.headers.push([n, value]);
  }

  prepend(name: string, value: string): void {
    this.headers.unshift([canonicalName(name), value]);
  }

  remove(name: string): void {
    const n = canonicalName(name);
    this.headers = this.headers.filter(([k]) => k !== n);
  }

  get callId(): string {
    return this.get('call-id') ?? '';
  }

  get cseq(): { seq: number; method: string } {
    const m = /^\s*(\d+)\s+(\S+)/.exec(this.get('cseq') ?? '');
    return m ? { seq: Number(m[1]), method: m[2]!.toUpperCase() } : { seq: 0, method: '' };
  }

  get fromTag(): string | undefined {
    const v = this.get('from');
    return v === undefined ? undefined : tagOf(v);
  }

  get toTag(): string | undefined {
    const v = this.get('to');
    return v === undefined ? undefined : tagOf(v);
  }

  get topVia(): Via | undefined {
    const v = this.get('via');
    return v === undefined ? undefined : parseVia(v);
  }

  clone(): SipMessage {
    const m = new SipMessage();
    Object.assign(m, { method: this.method, uri: this.uri, status: this.status, reason: this.reason });
    m.headers = this.headers.map(([k, v]) => [k, v]);
    m.body = this.body;
    return m;
  }

  toBuffer(): Buffer {
    const start = this.isRequest ? `${this.method} ${this.uri} SIP/2.0` : `SIP/2.0 ${this.status} ${this.reason}`;
    const lines = [start];
    for (const [k, v] of this.headers) if (k !== 'Content-Length') lines.push(`${k}: ${v}`);
    lines.push(`Content-Length: ${this.body.length}`, '', '');
    return Buffer.concat([Buffer.from(lines.join('\r\n'), 'utf8'), this.body]);
  }

  toString(): string {
    return this.toBuffer().toString('utf8');
  }
}

/** Splits a header value on commas that are outside quotes and angle brackets. */
export function splitList(value: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let cur = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (quoted) {
      if (c === '\\') { cur += c + (value[i + 1] ?? ''); i++; continue; }
      if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '<') depth++;
    else if (c === '>') depth = Math.max(0, depth - 1);
    else if (c === ',' && depth === 0) { out.push(cur.trim()); cur = ''; continue; }
    cur += c;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

function parseParams(s: string): Record<string, string | null> {
  const params: Record<string, string | null> = {};
  for (const part of s.split(';')) {
    const p = part.trim();
    if (!p) continue;
    const eq = p.indexOf('=');
    if (eq < 0) params[p.toLowerCase()] = null;
    else params[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
  }
  return params;
}

export function stringifyParams(params: Record<string, string | null>): string {
  return Object.entries(params).map(([k, v]) => (v === null ? `;${k}` : `;${k}=${v}`)).join('');
}

/** Parses name-addr / addr-spec forms: `"Bob" <sip:bob@h>;tag=x`, `<sip:h;lr>`, `sip:bob@h;tag=x`. */
export function parseNameAddr(value: string): NameAddr {
  const v = value.trim();
  const lt = v.indexOf('<');
  if (lt >= 0) {
    const gt = v.indexOf('>', lt);
    if (gt < 0) throw new SipParseError(`unterminated name-addr: ${value}`);
    const display = v.slice(0, lt).trim().replace(/^"(.*)"$/, '$1');
    return { display: display || undefined, uri: v.slice(lt + 1, gt).trim(), params: parseParams(v.slice(gt + 1)) };
  }
  const semi = v.indexOf(';');
  if (semi < 0) return { uri: v, params: {} };
  return { uri: v.slice(0, semi), params: parseParams(v.slice(semi)) };
}

export function stringifyNameAddr(na: NameAddr): string {
  const display = na.display ? `"${na.display}" ` : '';
  return `${display}<${na.uri}>${stringifyParams(na.params)}`;
}

export function tagOf(value: string): string | undefined {
  try {
    return parseNameAddr(value).params.tag ?? undefined;
  } catch {
    return undefined;
  }
}

export function withTag(value: string, tag: string): string {
  const na = parseNameAddr(value);
  na.params.tag = tag;
  return stringifyNameAddr(na);
}

export function parseUri(s: string): SipUri | undefined {
  const m = /^(sips?|tel):(?:([^:@;]*)(?::([^@;]*))?@)?(\[[0-9a-fA-F:.]+\]|[^:;?]+)(?::(\d+))?([^?]*)(?:\?(.*))?$/
    .exec(s.trim());
  if (!m) return undefined;
  const port = m[5] ? Number(m[5]) : undefined;
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  return {
    scheme: m[1]!.toLowerCase(), user: m[2] || undefined, password: m[3] || undefined, host: m[4]!, port,
    params: parseParams(m[6] ?? ''), headers: m[7],
  };
}

export function stringifyUri(u: SipUri): string {
  const userinfo = u.user ? `${u.user}${u.password ? ':' + u.password : ''}@` : '';
  return `${u.scheme}:${userinfo}${u.host}${u.port ? ':' + u.port : ''}${stringifyParams(u.params)}` +
    (u.headers ? `?${u.headers}` : '');
}

export function parseVia(value: string): Via {
  const m = /^SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z]+)\s+(\[[0-9a-fA-F:.]+\]|[^\s:;]+)(?:\s*:\s*(\d+))?\s*(.*)$/.exec(value.trim());
  if (!m) throw new SipParseError(`bad Via: ${value}`);
  return { transport: m[1]!.toUpperCase(), host: m[2]!, port: m[3] ? Number(m[3]) : undefined, params: parseParams(m[4] ?? '') };
}

export function stringifyVia(v: Via): string {
  return `SIP/2.0/${v.transport} ${v.host}${v.port ? ':' + v.port : ''}${stringifyParams(v.params)}`;
}

/** Bare host for comparisons and socket calls: strips IPv6 brackets. */
export function bareHost(host: string): string {
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

/** Host as it must appear in a URI or Via: brackets IPv6. */
export function uriHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

const TOKEN = /^[A-Za-z0-9\-.!%*_+`'~]+$/;

/**
 * Parses one complete SIP message. Throws SipParseError; when enough of the message was read to answer,
 * `err.partial` carries it (so the caller can send 400 to a request).
 */
export function parseMessage(buf: Buffer, opts: { lenient?: boolean } = {}): SipMessage {
  const headEnd = buf.indexOf('\r\n\r\n');
  const head = (headEnd < 0 ? buf : buf.subarray(0, headEnd)).toString('utf8');
  const lines = head.split(/\r\n(?![ \t])/).map((l) => l.replace(/\r\n[ \t]+/g, ' '));
  const start = lines.shift() ?? '';
  const m = new SipMessage();
  let r: RegExpExecArray | null;
  if ((r = /^SIP\/2\.0 (\d{3}) ?(.*)$/.exec(start))) {
    m.status = Number(r[1]);
    m.reason = r[2] ?? '';
    if (m.status < 100 || m.status > 699) throw new SipParseError(`bad status code ${m.status}`);
  } else if ((r = /^(\S+) (\S+) SIP\/2\.0$/.exec(start)) && TOKEN.test(r[1]!)) {
    m.method = r[1]!.toUpperCase();
    m.uri = r[2]!;
  } else {
    throw new SipParseError(`bad start line: ${JSON.stringify(start.slice(0, 80))}`);
  }
  const problems: string[] = [];
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) { problems.push(`bad header line: ${JSON.stringify(line.slice(0, 80))}`); continue; }
    const name = line.slice(0, colon).trim();
    if (!TOKEN.test(name)) { problems.push(`bad header name: ${JSON.stringify(name.slice(0, 40))}`); continue; }
    m.add(name, line.slice(colon + 1).trim());
  }
  if (opts.lenient) {
    // Application stubs (drachtio-srf) count Content-Length in UTF-16 units and omit core headers.
    if (headEnd >= 0) m.body = Buffer.from(buf.subarray(headEnd + 4));
    if (problems.length) throw new SipParseError(problems.join('; '), m);
    return m;
  }
  if (headEnd >= 0) {
    const body = buf.subarray(headEnd + 4);
    const cl = m.get('content-length');
    if (cl !== undefined) {
      if (!/^\d+$/.test(cl)) problems.push('bad Content-Length');
      else if (Number(cl) > body.length) problems.push('Content-Length exceeds body');
      else m.body = Buffer.from(body.subarray(0, Number(cl)));
    } else m.body = Buffer.from(body);
  }
  for (const h of ['via', 'from', 'to', 'call-id', 'cseq']) if (!m.has(h)) problems.push(`missing ${h}`);
  const cseq = /^\s*(\d+)\s+(\S+)\s*$/.exec(m.get('cseq') ?? '');
  if (m.has('cseq') && (!cseq || Number(cseq[1]) > 2 ** 31)) problems.push('bad CSeq');
  if (m.isRequest && cseq && cseq[2]!.toUpperCase() !== m.method) problems.push('CSeq method mismatch');
  try {
    for (const v of m.getAll('via')) parseVia(v);
    if (m.has('from')) parseNameAddr(m.get('from')!);
    if (m.has('to')) parseNameAddr(m.get('to')!);
  } catch (err) {
    problems.push((err as Error).message);
  }
  if (m.isRequest && !parseUri(m.uri!)) problems.push(`bad Request-URI ${m.uri}`);
  if (problems.length) throw new SipParseError(problems.join('; '), m);
  return m;
}

/**
 * Splits a TCP byte stream into SIP messages (RFC 3261 §18.3: Content-Length is mandatory on streams).
 * Leading CRLFs (keep-alives, RFC 5626) are skipped.
 */
export class StreamFramer {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly maxSize: number) {}

  /** Returns complete messages; throws when the stream can't be framed (caller closes the connection). */
  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Buffer[] = [];
    for (;;) {
      let skip = 0;
      while (skip < this.buf.length && (this.buf[skip] === 13 || this.buf[skip] === 10)) skip++;
      if (skip) this.buf = this.buf.subarray(skip);
      const headEnd = this.buf.indexOf('\r\n\r\n');
      if (headEnd < 0) {
        if (this.buf.length > this.maxSize) throw new SipParseError('header block too large');
        return out;
      }
      const head = this.buf.subarray(0, headEnd).toString('utf8');
      const cl = /\r\n(?:content-length|l)[ \t]*:[ \t]*(\d+)/i.exec(head);
      if (!cl) throw new SipParseError('missing Content-Length on stream transport');
      const total = headEnd + 4 + Number(cl[1]);
      if (total > this.maxSize) throw new SipParseError('message too large');
      if (this.buf.length < total) return out;
      out.push(Buffer.from(this.buf.subarray(0, total)));
      this.buf = this.buf.subarray(total);
    }
  }
}
