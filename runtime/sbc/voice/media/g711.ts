/** G.711 µ-law / A-law codecs of the voice media path: the platform's one implementation (runtime/core/audio/g711.ts). */
export { decodeG711, encodeG711, type G711Law } from '../../../core/audio/g711.js';
