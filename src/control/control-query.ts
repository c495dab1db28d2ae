import { RinglbError, seedMessage } from '../core/errors.js';

/**
 * The query parameters control calls accept: `dry_run` on calls that change something, `verbose` on
 * `GET /rep`.
 */
export interface ControlQuery {
  /** `?dry_run=true`: answer what the change would do and change nothing. */
  readonly dryRun: boolean;
  /** `?verbose=1`: each replica's address, process, state and last check beside the seed's names. */
  readonly verbose: boolean;
}

export type QueryParameter = 'dry_run' | 'verbose';

const BOOLEAN = new Map([
  ['', true],
  ['true', true],
  ['1', true],
  ['false', false],
  ['0', false],
]);

function invalid(message: string): RinglbError {
  return new RinglbError('ERR_INVALID_QUERY', seedMessage(message));
}

/**
 * Parses a control call's query string. A parameter the call does not take is refused (it would
 * otherwise be ignored, as `?dry_run=true` once was, and the change made).
 */
export function parseControlQuery(url: string, takes: readonly QueryParameter[]): ControlQuery {
  const given = new Map<QueryParameter, boolean>();
  const mark = url.indexOf('?');
  for (const [name, value] of new URLSearchParams(mark < 0 ? '' : url.slice(mark + 1))) {
    const known = takes.find((parameter) => parameter === name);
    if (known === undefined) {
      const expected = takes.length === 0 ? 'this call takes none' : `expected '${takes.join("' or '")}'`;
      throw invalid(`unknown query parameter '${name}': ${expected}`);
    }
    if (given.has(known)) throw invalid(`query parameter '${name}' is given twice`);
    const parsed = BOOLEAN.get(value);
    if (parsed === undefined) throw invalid(`'${name}' must be true or false, not ${JSON.stringify(value)}`);
    given.set(known, parsed);
  }
  return { dryRun: given.get('dry_run') ?? false, verbose: given.get('verbose') ?? false };
}
