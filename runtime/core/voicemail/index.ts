/**
 * Visual voicemail (docs/voicemail.md). The SBC's call flow gets its `VoicemailSink` from `createVoicemailSink`;
 * signalling uses `VoicemailStore` for REST and the owner's socket events.
 */
export { createVoicemailSink, type VoicemailSinkDeps, type VoicemailService } from './sink.js';
export { VoicemailStore, putChecked, objectMatches, type VoicemailFiles } from './store.js';
export { httpVoicemailNotifier, VOICEMAIL_EVENTS_PATH, VOICEMAIL_SECRET_HEADER, type VoicemailEvent, type VoicemailNotifier } from './notifier.js';
export { toGreetingWav, wavInfo, encodeWav } from './wav.js';
