import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../../runtime/core/errors.js';
import { ERRORS_PATH, OPENAPI_PATH, renderErrorsMarkdown, renderOpenApi } from '../../../scripts/openapi.js';

const FIX = 'docs/openapi.json or docs/errors.md is out of date: run `npm run openapi` and commit the result';

describe('generated API documents', () => {
  it('docs/openapi.json matches the registered routes', async () => {
    const fresh = await renderOpenApi();
    const committed = readFileSync(OPENAPI_PATH, 'utf8');
    expect(committed, FIX).toBe(fresh);
  });

  it('documents every /v1 route with tags, a summary and error responses', async () => {
    const doc = JSON.parse(await renderOpenApi()) as { paths: Record<string, Record<string, { tags?: string[]; summary?: string; responses: Record<string, unknown> }>> };
    const ops = Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })));
    expect(ops.length).toBeGreaterThanOrEqual(20);
    for (const { path, method, op } of ops) {
      expect(op.tags?.length, `${method} ${path} tags`).toBeGreaterThan(0);
      expect(op.summary, `${method} ${path} summary`).toBeTruthy();
      if (path.startsWith('/v1/')) expect(Object.keys(op.responses), `${method} ${path} responses`).toEqual(expect.arrayContaining(['400', '401', '403', '429']));
    }
  });

  it('docs/errors.md lists every error code with its HTTP status', () => {
    const committed = readFileSync(ERRORS_PATH, 'utf8');
    for (const [code, e] of Object.entries(ERROR_CODES)) {
      expect(committed, `${code} missing: ${FIX}`).toMatch(new RegExp(`\\| \`${code}\` \\| ${e.http} \\|`));
    }
    expect(committed, FIX).toBe(renderErrorsMarkdown());
  });
});
