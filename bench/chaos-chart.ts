/** The chaos run's timeline as a hand-written SVG (three panels sharing the time axis). */

export interface ChartSecond {
  readonly ok: number;
  readonly failed: number;
}

/** Replicas observed at one moment (seconds since the start of the load). */
export interface ChartMembership {
  readonly at: number;
  readonly inRing: number;
  readonly processes: number;
}

export interface ChartFault {
  /** Seconds since the start of the load. */
  readonly at: number;
  readonly label: string;
  /** Seconds since the start when the replica was out of the ring / serving again, if it happened. */
  readonly outAt: number | undefined;
  readonly servingAt: number | undefined;
}

const WIDTH = 960;
const LEFT = 70;
const RIGHT = 20;
const TOP = 95;
const PANEL = 120;
const GAP = 30;
const BOTTOM = 60;

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A round axis maximum ≥ value: 1, 2, 5 × 10^k. */
export function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

export function timelineSvg(
  title: string,
  seconds: readonly ChartSecond[],
  membership: readonly ChartMembership[],
  faults: readonly ChartFault[],
  durationS: number,
): string {
  const plotWidth = WIDTH - LEFT - RIGHT;
  const height = TOP + 3 * PANEL + 2 * GAP + BOTTOM;
  const span = Math.max(1, durationS, seconds.length);
  const x = (t: number) => LEFT + (Math.min(Math.max(t, 0), span) / span) * plotWidth;
  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="DejaVu Sans, Liberation Sans, sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="${LEFT}" y="22" font-size="15" font-weight="bold">${escape(title)}</text>`,
  );

  const panels = [
    { label: 'requests ok / s', color: '#1f77b4', values: seconds.map((s) => s.ok) },
    { label: 'failed requests / s', color: '#d62728', values: seconds.map((s) => s.failed) },
    { label: 'replicas in the ring', color: '#2ca02c', values: membership.map((m) => m.inRing) },
  ];
  panels.forEach((panel, index) => {
    const top = TOP + index * (PANEL + GAP);
    const bottom = top + PANEL;
    const extra = index === 2 ? membership.map((m) => m.processes) : [];
    const max = niceMax(Math.max(...panel.values, ...extra, index === 1 ? 1 : 0));
    const y = (v: number) => bottom - (v / max) * PANEL;
    parts.push(
      `<rect x="${LEFT}" y="${top}" width="${plotWidth}" height="${PANEL}" fill="#fafafa" stroke="#cccccc"/>`,
    );
    for (const fraction of [0, 0.5, 1]) {
      const value = max * fraction;
      parts.push(
        `<line x1="${LEFT}" x2="${LEFT + plotWidth}" y1="${y(value)}" y2="${y(value)}" stroke="#e5e5e5"/>`,
        `<text x="${LEFT - 6}" y="${y(value) + 4}" text-anchor="end" fill="#555555">${Number.isInteger(value) ? value : value.toFixed(1)}</text>`,
      );
    }
    parts.push(
      `<text x="${LEFT}" y="${top - 7}" fill="${panel.color}" font-weight="bold">${escape(panel.label)}</text>`,
    );
    if (index === 0) {
      const points = panel.values.map((v, i) => `${x(i + 0.5)},${y(v)}`);
      parts.push(
        `<polyline points="${points.join(' ')}" fill="none" stroke="${panel.color}" stroke-width="2"/>`,
      );
    } else if (index === 1) {
      // Failures are rare: bars, each labelled with its count, so a single failure is visible.
      panel.values.forEach((v, i) => {
        if (v <= 0) return;
        parts.push(
          `<rect x="${x(i)}" y="${y(v)}" width="${Math.max(2, x(i + 1) - x(i) - 1)}" height="${bottom - y(v)}" fill="${panel.color}"/>`,
          `<text x="${x(i + 0.5)}" y="${y(v) - 3}" text-anchor="middle" fill="${panel.color}" font-size="10">${v}</text>`,
        );
      });
      const total = panel.values.reduce((a, b) => a + b, 0);
      parts.push(
        `<text x="${LEFT + plotWidth}" y="${top - 7}" text-anchor="end" fill="${panel.color}">total ${total}</text>`,
      );
    } else {
      parts.push(
        `<text x="${LEFT + plotWidth}" y="${top - 7}" text-anchor="end" fill="#7f7f7f">dashed: replica processes running (not stopped)</text>`,
        stepLine(
          membership.map((m) => [x(m.at), y(m.processes)]),
          x(span),
          '#7f7f7f',
          '5 4',
        ),
        stepLine(
          membership.map((m) => [x(m.at), y(m.inRing)]),
          x(span),
          panel.color,
        ),
      );
    }
  });

  const plotBottom = TOP + 3 * PANEL + 2 * GAP;
  faults.forEach((fault, i) => {
    const fx = x(fault.at);
    if (fault.servingAt !== undefined) {
      parts.push(
        `<rect x="${fx}" y="${TOP}" width="${Math.max(1, x(fault.servingAt) - fx)}" height="${plotBottom - TOP}" fill="#ff7f0e" fill-opacity="0.12"/>`,
      );
    }
    parts.push(
      `<line x1="${fx}" x2="${fx}" y1="${TOP - 60 + (i % 3) * 12}" y2="${plotBottom}" stroke="#ff7f0e" stroke-dasharray="3 3"/>`,
    );
    if (fault.outAt !== undefined) {
      const ox = x(fault.outAt);
      parts.push(
        `<line x1="${ox}" x2="${ox}" y1="${TOP + 2 * (PANEL + GAP)}" y2="${plotBottom}" stroke="#9467bd"/>`,
      );
    }
    parts.push(
      `<text x="${fx + 2}" y="${TOP - 50 + (i % 3) * 12}" fill="#b35900" font-size="10">${escape(fault.label)}</text>`,
    );
  });

  const ticks = niceMax(span / 10);
  for (let t = 0; t <= span + 1e-9; t += ticks) {
    parts.push(
      `<line x1="${x(t)}" x2="${x(t)}" y1="${plotBottom}" y2="${plotBottom + 5}" stroke="#555555"/>`,
      `<text x="${x(t)}" y="${plotBottom + 18}" text-anchor="middle" fill="#555555">${t}</text>`,
    );
  }
  parts.push(
    `<text x="${LEFT + plotWidth / 2}" y="${plotBottom + 36}" text-anchor="middle" fill="#333333">seconds since the load started</text>`,
    `<text x="${LEFT}" y="${plotBottom + 52}" fill="#555555" font-size="10">dashed orange: fault injected; shaded: until the replica served again; purple: out of the ring</text>`,
    '</svg>',
  );
  return parts.join('\n') + '\n';
}

/** A step line through (x, y) points, holding each value until the next point (the last until `endX`). */
function stepLine(
  points: readonly (readonly [number, number])[],
  endX: number,
  color: string,
  dash?: string,
): string {
  const path: string[] = [];
  points.forEach(([px, py], i) => {
    const nextX = points[i + 1]?.[0] ?? endX;
    path.push(`${px},${py}`, `${nextX},${py}`);
  });
  const dashAttr = dash ? ` stroke-dasharray="${dash}"` : '';
  return `<polyline points="${path.join(' ')}" fill="none" stroke="${color}" stroke-width="2"${dashAttr}/>`;
}
