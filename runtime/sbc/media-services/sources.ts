/** Play sources moved to runtime/core/media/play-sources.ts (the media agent resolves them too); kept for importers. */
export * from '../../core/media/play-sources.js';
