import type { PlanSubject } from './plan-request.js';

/** A dry run's reply, as `?dry_run=true` answers it. */
export interface PlanReply {
  readonly moved: number;
  readonly added?: readonly string[];
  readonly removed?: readonly string[];
  readonly shares: Readonly<Record<string, { readonly before: number; readonly after: number }>>;
  readonly owners?: Readonly<
    Record<string, { readonly before: string | null; readonly after: string | null }>
  >;
}

export function isPlanReply(body: unknown): body is PlanReply {
  const reply = body as Partial<PlanReply> | null;
  return (
    typeof reply === 'object' &&
    reply !== null &&
    (reply as { dryRun?: unknown }).dryRun === true &&
    typeof reply.moved === 'number' &&
    typeof reply.shares === 'object' &&
    reply.shares !== null
  );
}

const percent = (share: number) => `${(share * 100).toFixed(1)} %`;

function signedPercent(change: number): string {
  // Rounded first, so a change too small to show is 0.0, not "-0.0" or "+0.0".
  const rounded = Math.round(change * 1000) / 10;
  return rounded === 0 ? '0.0' : `${rounded > 0 ? '+' : ''}${rounded.toFixed(1)}`;
}

/** Columns padded to their widest cell, two spaces apart. */
function columns(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => row[col]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, col) => cell.padEnd(widths[col]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/**
 * What `ringlb plan` prints: the fraction that would move, the replicas it would add or remove,
 * each replica's share before and after, and the named keys' owners. Pure.
 */
export function formatPlan(subject: PlanSubject, reply: PlanReply): string {
  const lines = [
    `ringlb plan ${subject}: ${percent(reply.moved)} of the key space would move (nothing changed)`,
  ];
  if (reply.added && reply.added.length > 0) lines.push(`would add: ${reply.added.join(', ')}`);
  if (reply.removed && reply.removed.length > 0) lines.push(`would remove: ${reply.removed.join(', ')}`);
  const shares = Object.entries(reply.shares).map(([name, share]) => [
    name,
    share.before === 0 ? '-' : percent(share.before),
    share.after === 0 ? '-' : percent(share.after),
    signedPercent(share.after - share.before),
  ]);
  lines.push('', columns([['REPLICA', 'SHARE BEFORE', 'SHARE AFTER', 'CHANGE (POINTS)'], ...shares]));
  const owners = Object.entries(reply.owners ?? {});
  if (owners.length > 0) {
    const rows = owners.map(([key, owner]) => [
      key,
      owner.before ?? '-',
      owner.after ?? '-',
      owner.before === owner.after ? 'stays' : 'moves',
    ]);
    lines.push('', columns([['KEY', 'OWNER BEFORE', 'OWNER AFTER', ''], ...rows]));
  }
  return `${lines.join('\n')}\n`;
}
