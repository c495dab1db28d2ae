/**
 * Turns pino's JSON lines into lines a person reads in a terminal:
 *   18:20:01.123 WARN  replica Server 2: healthy → down  replica=Server 2 reason="process killed by SIGKILL"
 * Written here rather than taken from pino-pretty: it needs ~40 lines, and pino-pretty would bring a
 * dozen transitive packages and a worker thread for it.
 */
const LEVELS: Record<number, { name: string; colour: string }> = {
  10: { name: 'TRACE', colour: '90' },
  20: { name: 'DEBUG', colour: '36' },
  30: { name: 'INFO', colour: '32' },
  40: { name: 'WARN', colour: '33' },
  50: { name: 'ERROR', colour: '31' },
  60: { name: 'FATAL', colour: '35' },
};

/** Fields every line carries that a person at a terminal does not need repeated. */
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'service', 'err']);

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

export function prettyLine(line: string, colours: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const paint = (code: string, text: string) => (colours ? `\x1b[${code}m${text}\x1b[0m` : text);
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString().slice(11, 23) : '';
  const level = LEVELS[entry.level as number] ?? { name: String(entry.level), colour: '0' };
  const fields = Object.entries(entry)
    .filter(([key]) => !HIDDEN.has(key))
    .map(([key, value]) => `${paint('2', `${key}=`)}${formatValue(value)}`);
  let text = `${paint('2', time)} ${paint(level.colour, level.name.padEnd(5))} ${String(entry.msg ?? '')}`;
  if (fields.length > 0) text += `  ${fields.join(' ')}`;
  const err = entry.err as { message?: string; stack?: string } | undefined;
  if (err) text += `\n    ${(err.stack ?? err.message ?? JSON.stringify(err)).replace(/\n/g, '\n    ')}`;
  return `${text}\n`;
}
