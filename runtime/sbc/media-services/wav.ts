/** WAV helpers moved to runtime/core/media/play-wav.ts (shared with the media agent); kept for importers. */
export * from '../../core/media/play-wav.js';
