/**
 * The call-control schemas (runtime/core/protocol/voice.ts) carry `$id`s and are nested several times (PlaySource
 * in play, gather and enqueue): ajv refuses a schema where one `$id` appears twice ("resolves to more than one
 * schema"). Routes therefore use copies where every nested schema with one of these ids is a `$ref` to a shared
 * schema added once per route scope; the OpenAPI document gets them as components (PlaySource, DialTarget, Verb,
 * CallDocument, ApplicationSpec).
 */
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { AppError } from '../../core/errors.js';
import { ApplicationSpec, CallDocument, DialTargetSpec, PlaySource, Verb } from '../../core/protocol/voice.js';
import type { Http } from './types.js';

const SHARED: TSchema[] = [PlaySource, DialTargetSpec, Verb, CallDocument, ApplicationSpec];
const IDS = new Set(SHARED.map((s) => (s as { $id: string }).$id));

function walk(node: unknown, top: boolean): unknown {
  if (Array.isArray(node)) return node.map((n) => walk(n, false));
  if (!node || typeof node !== 'object') return node;
  const o = node as Record<string, unknown>;
  if (!top && typeof o.$id === 'string' && IDS.has(o.$id)) return { $ref: `${o.$id}#` };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = k === 'examples' || k === 'default' || k === 'const' || k === 'enum' ? v : walk(v, false);
  return out;
}

/** A copy of `schema` whose nested call-control schemas are `$ref`s (same static type). */
export function refify<T extends TSchema>(schema: T): T {
  return walk(schema, true) as T;
}

const menu = [
  { verb: 'answer' },
  { verb: 'gather', numDigits: 1, timeoutSeconds: 6, prompt: { tone: { frequencies: [440, 480], durationMs: 600 } }, actionHook: 'https://example.com/voice/menu' },
];
/** Descriptions and examples for the OpenAPI components (voice.ts is the contract; documentation is added here). */
const DOCS: Record<string, { description?: string; examples: unknown[] }> = {
  PlaySource: { description: 'What to play: exactly one of `url` (a WAV file), `media` (a file of the tenant media library) or `tone`', examples: [{ tone: { frequencies: [350, 440], durationMs: 2000, onMs: 400, offMs: 200 } }, { url: 'https://example.com/prompts/welcome.wav' }, { media: 'welcome.wav', loop: 2 }] },
  DialTarget: { description: 'Who to call: a phone number (through the tenant\'s trunks), a SIP URI, a SIP user of the tenant (its registered phones) or a WebRTC identity (its browsers)', examples: [{ type: 'phone', number: '+14155550123' }, { type: 'user', name: 'alice' }] },
  Verb: { description: 'One instruction of a call-control document, selected by `verb`', examples: [menu[1], { verb: 'dial', targets: [{ type: 'user', name: 'sales' }], timeoutSeconds: 20, actionHook: 'https://example.com/voice/dial-result' }, { verb: 'record', maxLengthSeconds: 60, finishOnKey: '#', voicemail: { mailbox: 'alice', kind: 'sip-user' } }] },
  CallDocument: {
    description: 'A call-control document: verbs run in order; a verb with `actionHook` posts its result there and the answer replaces the rest of the document; the call hangs up when the document ends',
    examples: [menu, [{ verb: 'play', source: { tone: { frequencies: [440], durationMs: 300 } } }, { verb: 'dial', targets: [{ type: 'phone', number: '+14155550123' }], callerId: '+14155550199' }, { verb: 'hangup' }]],
  },
  ApplicationSpec: { examples: [{ url: 'https://example.com/voice/incoming', fallbackUrl: 'https://backup.example.com/voice/incoming' }, { document: menu }] },
};

/** Adds the shared call-control schemas to a route scope (call once per scope before its routes). */
export function addVoiceSchemas(app: Http): void {
  for (const s of SHARED) {
    const doc = DOCS[(s as { $id: string }).$id];
    app.addSchema({ ...(refify(s) as object), ...(doc?.description && !(s as { description?: string }).description ? { description: doc.description } : {}), ...(doc ? { examples: doc.examples } : {}) });
  }
}

/**
 * A route `validatorCompiler` for bodies holding call-control documents. ajv (strict) refuses `default`s inside
 * `anyOf` branches, and the Verb union has them, so these bodies are validated with TypeBox (`Value.Default` +
 * `Value.Check`) against the ORIGINAL schema; other parts (params) too. The first error becomes INVALID_PAYLOAD
 * with its path; a fault inside a document names the exact verb field (`body/document/2/timeoutSeconds`).
 */
export function voiceValidator(body: TSchema, documents: Array<{ at: string; get(body: Record<string, unknown>): unknown }> = []) {
  return ({ schema, httpPart }: { schema: unknown; httpPart?: string }) => {
    const s = (httpPart === 'body' ? body : schema) as TSchema;
    const where = httpPart === 'body' ? 'body' : httpPart === 'params' ? 'params' : (httpPart ?? 'body');
    return (data: unknown) => {
      const value = Value.Default(s, Value.Clone(data ?? (httpPart === 'body' ? undefined : {})));
      if (Value.Check(s, value)) return { value };
      if (httpPart === 'body' && value && typeof value === 'object') {
        for (const d of documents) {
          const doc = d.get(value as Record<string, unknown>);
          if (doc === undefined) continue;
          const e = documentError(doc, d.at);
          if (e) return { error: e };
        }
      }
      const errors = Value.Errors(s, value).filter((e) => e.keyword !== 'boolean');
      // Prefer the deepest error: a union's own "must match a schema in anyOf" is less useful than a branch's.
      const first = errors.find((e) => e.keyword !== 'anyOf') ?? errors[0];
      const extra = first?.params && 'additionalProperties' in first.params ? ` (${String((first.params as { additionalProperties: unknown }).additionalProperties)})` : '';
      const missing = first?.params && 'requiredProperties' in first.params ? ` (${String((first.params as { requiredProperties: unknown }).requiredProperties)})` : '';
      const field = `${where}${first?.instancePath ?? ''}`;
      return { error: AppError.invalid(`${field} ${first?.message ?? 'is invalid'}${extra}${missing}`, field) };
    };
  };
}

const verbSchemas = new Map<string, TSchema>((Verb.anyOf as TSchema[]).map((s) => [((s as { properties: { verb: { const: string } } }).properties.verb).const, s]));

/**
 * A precise error for an invalid call-control document: the first bad verb, checked against ITS schema (the
 * union's errors name whichever branch was tried first). `at` is the document's path (`body/document`).
 */
export function documentError(doc: unknown, at: string): AppError | undefined {
  if (!Array.isArray(doc)) return AppError.invalid(`${at} must be an array of verbs`, at);
  const max = (CallDocument as unknown as { maxItems: number }).maxItems;
  if (doc.length === 0 || doc.length > max) return AppError.invalid(`${at} must have 1 to ${max} verbs`, at);
  for (let i = 0; i < doc.length; i++) {
    const v = doc[i] as { verb?: unknown } | null;
    const here = `${at}/${i}`;
    if (!v || typeof v !== 'object' || Array.isArray(v)) return AppError.invalid(`${here} must be an object with a "verb"`, here);
    const schema = typeof v.verb === 'string' ? verbSchemas.get(v.verb) : undefined;
    if (!schema) return AppError.invalid(`${here}/verb must be one of ${[...verbSchemas.keys()].join(', ')}`, `${here}/verb`);
    // Defaults first (as the interpreter applies them); `schema is false` repeats additionalProperties.
    const errors = Value.Errors(schema, Value.Default(schema, Value.Clone(v))).filter((e) => e.keyword !== 'boolean');
    const first = errors.find((e) => e.keyword !== 'anyOf') ?? errors[0];
    if (first) {
      const path = `${here}${first.instancePath}`;
      const extra = first.params && 'additionalProperties' in first.params ? ` (${String((first.params as { additionalProperties: unknown }).additionalProperties)})` : '';
      const missing = first.params && 'requiredProperties' in first.params ? ` (${String((first.params as { requiredProperties: unknown }).requiredProperties)})` : '';
      return AppError.invalid(`${path} ${first.message}${extra}${missing} [${v.verb}]`, path);
    }
  }
  return undefined;
}
