import { RinglbError, seedMessage } from '../core/errors.js';

/** The query parameters a control call accepts: `dry_run` on calls that change something. */
export interface ControlQuery {
  /** `?dry_run=true`: answer what the change would do and change nothing. */
  readonly dryRun: boolean;
}

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
 * Parses a control call's query string. A parameter the call does not know is refused (it would
 * otherwise be ignored, as `?dry_run=true` once was, and the change made).
 */
export function parseControlQuery(url: string, changes: boolean): ControlQuery {
  const mark = url.indexOf('?');
  if (mark < 0) return { dryRun: false };
  const params = new URLSearchParams(url.slice(mark + 1));
  let dryRun = false;
  const seen = new Set<string>();
  for (const [name, value] of params) {
    if (name !== 'dry_run' || !changes) {
      throw invalid(
        `unknown query parameter '${name}'${changes ? ": expected 'dry_run'" : ': this call takes none'}`,
      );
    }
    if (seen.has(name)) throw invalid(`query parameter '${name}' is given twice`);
    seen.add(name);
    const parsed = BOOLEAN.get(value);
    if (parsed === undefined) throw invalid(`'dry_run' must be true or false, not ${JSON.stringify(value)}`);
    dryRun = parsed;
  }
  return { dryRun };
}
