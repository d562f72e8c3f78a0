// Every error that reports bad input names the field the way the user wrote it: `path: message`.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { errorType, errorTypeOf, FineprintError } from '../../shared/errors.js';
import { formatIssues } from '../../shared/zod-issues.js';

const Routes = z.object({ routes: z.array(z.object({ receivers: z.array(z.string()).min(1) })) });

describe('formatIssues', () => {
  it('names the field by its full path, array positions included (the first one too)', () => {
    const result = Routes.safeParse({ routes: [{ receivers: [] }] });
    expect(formatIssues(result.error?.issues ?? [], '(file)')).toEqual(['routes.0.receivers: Too small: expected array to have >=1 items']);
  });

  it('names the value itself when the problem is the whole value, and prefixes the part it came from', () => {
    const issues = z.object({}).safeParse(42).error?.issues ?? [];
    expect(formatIssues(issues, '(record)')).toEqual(['(record): Invalid input: expected object, received number']);
    expect(formatIssues(Routes.safeParse({ routes: 'x' }).error?.issues ?? [], '(request)', ['body'])).toEqual([
      'body.routes: Invalid input: expected array, received string',
    ]);
  });
});

describe('the error_type of fineprint_errors_total', () => {
  it('is the error code of the registry, and internal for anything fineprint did not raise', () => {
    expect(errorType('FP_EVENT_INVALID')).toBe('event_invalid');
    expect(errorTypeOf(new FineprintError('FP_STORE_UNAVAILABLE', 'disk full'))).toBe('store_unavailable');
    expect(errorTypeOf(new Error('boom'))).toBe('internal');
  });
});
