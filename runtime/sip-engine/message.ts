/**
 * SIP message model, parser and serializer (RFC 3261 §7, §20, §25).
 *
 * Headers are kept as an ordered list of [canonical name, value] pairs; multi-value headers that arrive
 * comma-joined (Via, Route, Record-Route, Contact) are split so each value is one entry.
 */

export class SipParseError extends Error {
  /**
   * @param partial what was read of the message (enough to answer a request when it has a Via)
   * @param status the status to answer with: 400, or 505 (version) / 416 (URI scheme) / 513 (too large)
   */
  constructor(message: string, readonly partial?: SipMessage, readonly status = 400) {
    super(message);
    this.name = 'SipParseError';
  }
}

/** Validation limits for messages from the network (see docs/sip-engine.md "Validation"). */
export interface ParseLimits {
  /** Header fields (after unfolding, before comma splitting). */
  maxHeaders: number;
  /** Bytes in one (unfolded) header line, and in the start line. */
  maxLineLength: number;
  /** Bytes of an application/sdp body. */
  maxSdpSize: number;
}

export const DEFAULT_LIMITS: ParseLimits = { maxHeaders: 256, maxLineLength: 8192, maxSdpSize: 32_768 };

/** Headers that may appear once only (RFC 3261 §7.3.1: not comma-separable). */
const SINGLETONS = ['From', 'To', 'Call-ID', 'CSeq', 'Max-Forwards', 'Content-Length', 'Content-Type'];

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
  return { uri: v.slice(0, semi).trim(), params: parseParams(v.slice(semi)) };
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
  const m = /^SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z]+)\s+(\[[0-9a-fA-F:.]+\]|[^\s:;]+)(?:\s*:\s*(\d{1,5}))?\s*(.*)$/.exec(value.trim());
  if (!m) throw new SipParseError(`bad Via: ${value.slice(0, 80)}`);
  const port = m[3] ? Number(m[3]) : undefined;
  if (port !== undefined && (port < 1 || port > 65535)) throw new SipParseError(`bad Via port: ${value.slice(0, 80)}`);
  if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9][A-Za-z0-9.\-_]*)$/.test(m[2]!)) throw new SipParseError(`bad Via host: ${value.slice(0, 80)}`);
  const rest = m[4] ?? '';
  if (rest && !rest.startsWith(';')) throw new SipParseError(`bad Via parameters: ${value.slice(0, 80)}`);
  return { transport: m[1]!.toUpperCase(), host: m[2]!, port, params: parseParams(rest) };
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
 *
 * From the network (not `lenient`) every message is validated: start-line grammar and version, header
 * count and line length, mandatory headers (Via, From, To, Call-ID, CSeq; Max-Forwards in requests), single
 * occurrence of From/To/Call-ID/CSeq/Max-Forwards/Content-Length/Content-Type, CSeq number and method
 * (= the request method), Max-Forwards 0–255, Content-Length vs body, the end-of-headers blank line,
 * Via/From/To syntax, the Request-URI, and an application/sdp body (see `checkSdp`).
 */
export function parseMessage(buf: Buffer, opts: { lenient?: boolean; limits?: ParseLimits } = {}): SipMessage {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const headEnd = buf.indexOf('\r\n\r\n');
  const head = (headEnd < 0 ? buf : buf.subarray(0, headEnd)).toString('utf8');
  const lines = head.split(/\r\n(?![ \t])/).map((l) => l.replace(/\r\n[ \t]+/g, ' '));
  const start = lines.shift() ?? '';
  const m = new SipMessage();
  const problems: string[] = [];
  let status = 400;
  let r: RegExpExecArray | null;
  if (start.length > limits.maxLineLength && !opts.lenient) throw new SipParseError('start line too long');
  if ((r = /^SIP\/2\.0 (\d{3}) ?(.*)$/.exec(start))) {
    m.status = Number(r[1]);
    m.reason = r[2] ?? '';
    if (m.status < 100 || m.status > 699) throw new SipParseError(`bad status code ${m.status}`);
  } else if ((r = /^(\S+) (\S+) SIP\/2\.0$/.exec(start)) && TOKEN.test(r[1]!)) {
    m.method = r[1]!.toUpperCase();
    m.uri = r[2]!;
  } else if ((r = /^(\S+) (\S+) SIP\/(\d+\.\d+)$/i.exec(start)) && TOKEN.test(r[1]!) && !opts.lenient) {
    // RFC 3261 §8.2.2 / RFC 4475 §3.3.14: a well-formed request of another SIP version gets 505
    m.method = r[1]!.toUpperCase();
    m.uri = r[2]!;
    problems.push(`unsupported SIP version ${r[3]!}`);
    status = 505;
  } else {
    throw new SipParseError(`bad start line: ${JSON.stringify(start.slice(0, 80))}`);
  }
  if (!opts.lenient && lines.length > limits.maxHeaders) {
    lines.length = limits.maxHeaders;
    problems.push(`more than ${limits.maxHeaders} header fields`);
  }
  for (const line of lines) {
    if (!opts.lenient && line.length > limits.maxLineLength) { problems.push('header line too long'); continue; }
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
      if (!/^\d{1,10}$/.test(cl)) problems.push('bad Content-Length');
      else if (Number(cl) > body.length) problems.push('Content-Length exceeds body');
      else m.body = Buffer.from(body.subarray(0, Number(cl)));
    } else m.body = Buffer.from(body);
  } else {
    problems.push('no blank line after the headers');
  }
  for (const h of ['via', 'from', 'to', 'call-id', 'cseq']) if (!m.has(h)) problems.push(`missing ${h}`);
  for (const h of SINGLETONS) if (m.getAll(h).length > 1) problems.push(`more than one ${h}`);
  const cseq = /^(\d{1,10})[ \t]+(\S+)$/.exec(m.get('cseq') ?? '');
  if (m.has('cseq') && (!cseq || Number(cseq[1]) >= 2 ** 31 || !TOKEN.test(cseq[2]!))) problems.push('bad CSeq');
  if (m.isRequest && cseq && cseq[2]!.toUpperCase() !== m.method) problems.push('CSeq method mismatch');
  const callId = m.get('call-id');
  if (callId !== undefined && !/^[!-~]+$/.test(callId)) problems.push('bad Call-ID');
  if (m.isRequest) {
    const mf = m.get('max-forwards');
    if (mf === undefined) problems.push('missing max-forwards');
    else if (!/^\d{1,9}$/.test(mf) || Number(mf) > 255) problems.push('bad Max-Forwards');
  }
  try {
    for (const v of m.getAll('via')) parseVia(v);
    for (const h of ['from', 'to']) {
      const v = m.get(h);
      if (v === undefined) continue;
      const na = parseNameAddr(v);
      if (!/^[A-Za-z][A-Za-z0-9+.-]*:\S+$/.test(na.uri)) problems.push(`bad ${h} URI`);
    }
  } catch (err) {
    problems.push((err as Error).message);
  }
  if (m.isRequest && !parseUri(m.uri!)) {
    if (/^[A-Za-z][A-Za-z0-9+.-]*:\S+$/.test(m.uri!) && !/^(sips?|tel):/i.test(m.uri!)) {
      problems.push(`unsupported URI scheme in ${m.uri!.slice(0, 80)}`);
      if (status === 400) status = 416;
    } else problems.push(`bad Request-URI ${m.uri!.slice(0, 80)}`);
  }
  const ctype = m.get('content-type');
  if (ctype && m.body.length && /^application\/sdp\s*(;|$)/i.test(ctype)) {
    const why = checkSdp(m.body, limits.maxSdpSize);
    if (why) problems.push(`bad SDP: ${why}`);
  }
  if (problems.length) throw new SipParseError(problems.join('; '), m, status);
  return m;
}

/**
 * SDP sanity (RFC 8866 §5): bounded size, `type=value` lines, `v=0` first, `o=` and `s=` present, at least
 * one `m=`, and a `c=` at session level or in every media section. Returns the problem or undefined.
 */
export function checkSdp(body: Buffer, maxSize: number): string | undefined {
  if (body.length > maxSize) return `larger than ${maxSize} bytes`;
  const lines = body.toString('utf8').split(/\r?\n/);
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  if (lines[0] !== 'v=0') return 'first line is not v=0';
  let session = true;
  let sessionC = false;
  let media = 0;
  let mediaWithoutC = 0;
  let thisC = false;
  const seen = new Set<string>();
  for (const line of lines) {
    if (!/^[a-z]=/.test(line)) return `bad line ${JSON.stringify(line.slice(0, 40))}`;
    const type = line[0]!;
    seen.add(type);
    if (type === 'm') {
      if (!/^m=[a-z]+ \d+(\/\d+)? \S+( \S+)*$/i.test(line)) return 'bad m= line';
      if (!session && !thisC) mediaWithoutC++;
      session = false;
      thisC = false;
      media++;
    } else if (type === 'c') {
      if (!/^c=IN IP[46] \S+$/.test(line)) return 'bad c= line';
      if (session) sessionC = true;
      else thisC = true;
    }
  }
  if (!session && !thisC) mediaWithoutC++;
  if (!seen.has('o')) return 'no o= line';
  if (!seen.has('s')) return 'no s= line';
  if (!media) return 'no m= line';
  if (!sessionC && mediaWithoutC) return 'no c= line for a media section';
  return undefined;
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
