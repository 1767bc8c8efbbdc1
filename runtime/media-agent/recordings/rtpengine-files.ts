/**
 * rtpengine's pcap recording layout (`--recording-method=pcap --recording-dir=<dir>`, verified with 10.5):
 *
 *   <dir>/tmp/rtpengine-meta-<callid>-<hash>.tmp     while the call runs
 *   <dir>/metadata/rtpengine-meta-<callid>-<hash>.txt moved here when the call is destroyed (finalized)
 *   <dir>/pcaps/<callid>-<hash>.pcap                  ingress packets of every party (link type raw IP)
 *
 * The finalized metadata file starts with the pcap path, then per SDP "Timestamp started ms: …", "SDP mode:
 * offer|answer", the SDP, then "call start time: …", "call end time: …", and last the `metadata` string given
 * in the offer (`tenant=acme|call=ca_…|parties=alice,bob`).
 */
import { basename } from 'node:path';

export const META_PREFIX = 'rtpengine-meta-';

export interface RtpengineMetadata {
  /** `<callid>-<hash>`: names the pcap and the metadata file. */
  base: string;
  pcapPath?: string;
  /** Epoch ms of the first SDP (≈ call start); undefined when absent. */
  startedAt?: number;
  /** Whether the end marker (`call end time`) is present: the call was destroyed and the pcap is closed. */
  finished: boolean;
  /** key=value pairs of the offer's `metadata` string. */
  values: Record<string, string>;
}

/** `rtpengine-meta-<base>.txt` → `<base>`; undefined for other files. */
export function baseOfMetadataFile(name: string): string | undefined {
  const m = /^rtpengine-meta-(.+)\.txt$/.exec(basename(name));
  return m?.[1];
}

const LIST_KEYS = new Set(['parties']);

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Splits a list value (`parties`) and decodes each element. */
export function metadataList(value: string | undefined): string[] | undefined {
  return value?.split(',').map((x) => safeDecode(x.trim()));
}

/** Parses `k=v|k=v` (the SBC's metadata string); `parties` is a comma-separated list. */
export function parseMetadataString(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of s.split('|')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    const key = part.slice(0, i).trim();
    const raw = part.slice(i + 1).trim();
    // lists stay encoded so an element may contain a comma: split on ',' first, then decode each
    out[key] = LIST_KEYS.has(key) ? raw : safeDecode(raw);
  }
  return out;
}

/** Builds the metadata string the SBC passes in the offer (values URI-encoded, so `|`/`=` are safe). */
export function formatMetadataString(v: { tenant: string; call: string; parties?: string[]; [k: string]: string | string[] | undefined }): string {
  return Object.entries(v)
    .filter(([, x]) => x !== undefined)
    .map(([k, x]) => `${k}=${Array.isArray(x) ? x.map(encodeURIComponent).join(',') : encodeURIComponent(x!)}`)
    .join('|');
}

export function parseRtpengineMetadata(base: string, text: string): RtpengineMetadata {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  const pcapPath = lines[0]?.endsWith('.pcap') ? lines[0] : undefined;
  const started = /Timestamp started ms: ([0-9.]+)/.exec(text);
  const finished = /^call end time: /m.test(text);
  // The metadata string is the last non-empty line after the end marker.
  let values: Record<string, string> = {};
  const endIdx = lines.findIndex((l) => l.startsWith('call end time: '));
  if (endIdx >= 0) {
    const rest = lines.slice(endIdx + 1).filter((l) => l.trim());
    const candidate = rest[rest.length - 1];
    if (candidate && candidate.includes('=')) values = parseMetadataString(candidate);
  }
  return { base, ...(pcapPath ? { pcapPath } : {}), ...(started ? { startedAt: Math.round(Number(started[1])) } : {}), finished, values };
}
