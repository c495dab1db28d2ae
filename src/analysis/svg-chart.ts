/**
 * Bar and line charts as plain SVG text, for the analysis report (rendered to PNG by resvg, no
 * browser). Three chart shapes cover A-1..A-5, so a few hundred lines here beat a charting library
 * and its dependency tree. Pure: same input, same SVG.
 */
export interface BarSeries {
  readonly name: string;
  /** One value per category. */
  readonly values: readonly number[];
}

export interface BarChart {
  readonly title: string;
  readonly yLabel: string;
  readonly categories: readonly string[];
  readonly series: readonly BarSeries[];
}

export interface LineSeries {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
  readonly dashed?: boolean;
}

export interface LineChart {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly LineSeries[];
  /** Vertical markers, e.g. "replica killed" on a timeline. */
  readonly markers?: readonly { readonly x: number; readonly label: string }[];
  readonly yMin?: number;
}

const WIDTH = 900;
const HEIGHT = 480;
const MARGIN = { top: 50, right: 200, bottom: 60, left: 80 };
const PLOT_W = WIDTH - MARGIN.left - MARGIN.right;
const PLOT_H = HEIGHT - MARGIN.top - MARGIN.bottom;
export const PALETTE = [
  '#4c78a8',
  '#f58518',
  '#54a24b',
  '#e45756',
  '#72b7b2',
  '#b279a2',
  '#eeca3b',
  '#9d755d',
];
const FONT = 'font-family="DejaVu Sans, Arial, sans-serif"';

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Round tick values covering [min, max]: steps of 1, 2 or 5 × 10^k, about `count` of them. */
export function niceTicks(min: number, max: number, count = 6): number[] {
  if (!(max > min)) max = min + 1;
  const raw = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw)!;
  const ticks: number[] = [];
  for (let v = Math.floor(min / step) * step; v <= max + step * 1e-9; v += step) {
    ticks.push(Number(v.toPrecision(12)));
  }
  if (ticks[ticks.length - 1]! < max) ticks.push(Number((ticks[ticks.length - 1]! + step).toPrecision(12)));
  return ticks;
}

function formatTick(value: number): string {
  if (value !== 0 && Math.abs(value) < 0.01) return value.toExponential(0);
  return Number(value.toPrecision(6)).toLocaleString('en-US', { maximumFractionDigits: 4 });
}

function text(x: number, y: number, content: string, attrs = ''): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${FONT} ${attrs}>${escapeXml(content)}</text>`;
}

function frame(title: string, yLabel: string, yTicks: number[], yOf: (v: number) => number): string[] {
  const parts = [
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    text(WIDTH / 2 - MARGIN.right / 2, 28, title, 'font-size="18" font-weight="bold" text-anchor="middle"'),
    text(
      18,
      MARGIN.top + PLOT_H / 2,
      yLabel,
      `font-size="13" text-anchor="middle" transform="rotate(-90 18 ${MARGIN.top + PLOT_H / 2})"`,
    ),
  ];
  for (const tick of yTicks) {
    const y = yOf(tick);
    parts.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + PLOT_W}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#e0e0e0"/>`,
      text(MARGIN.left - 8, y + 4, formatTick(tick), 'font-size="12" text-anchor="end"'),
    );
  }
  parts.push(
    `<line x1="${MARGIN.left}" x2="${MARGIN.left}" y1="${MARGIN.top}" y2="${MARGIN.top + PLOT_H}" stroke="#333"/>`,
    `<line x1="${MARGIN.left}" x2="${MARGIN.left + PLOT_W}" y1="${MARGIN.top + PLOT_H}" y2="${MARGIN.top + PLOT_H}" stroke="#333"/>`,
  );
  return parts;
}

function legend(names: readonly string[], dashed: readonly boolean[] = []): string[] {
  const x = MARGIN.left + PLOT_W + 20;
  return names.flatMap((name, i) => {
    const y = MARGIN.top + 10 + i * 22;
    const color = PALETTE[i % PALETTE.length]!;
    return [
      `<line x1="${x}" x2="${x + 24}" y1="${y}" y2="${y}" stroke="${color}" stroke-width="6"${dashed[i] ? ' stroke-dasharray="6 4"' : ''}/>`,
      text(x + 32, y + 4, name, 'font-size="13"'),
    ];
  });
}

function svg(parts: string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}">\n${parts.join('\n')}\n</svg>\n`;
}

/** Grouped bars: one group per category, one bar per series. */
export function barChartSvg(chart: BarChart): string {
  const max = Math.max(0, ...chart.series.flatMap((s) => s.values));
  const ticks = niceTicks(0, max);
  const top = ticks[ticks.length - 1]!;
  const yOf = (v: number) => MARGIN.top + PLOT_H - (v / top) * PLOT_H;
  const parts = frame(chart.title, chart.yLabel, ticks, yOf);
  const groupW = PLOT_W / Math.max(1, chart.categories.length);
  const barW = (groupW * 0.8) / Math.max(1, chart.series.length);
  chart.categories.forEach((category, c) => {
    const groupX = MARGIN.left + c * groupW + groupW * 0.1;
    chart.series.forEach((series, s) => {
      const value = series.values[c] ?? 0;
      const y = yOf(value);
      parts.push(
        `<rect x="${(groupX + s * barW).toFixed(1)}" y="${y.toFixed(1)}" width="${(barW * 0.92).toFixed(1)}" height="${(MARGIN.top + PLOT_H - y).toFixed(1)}" fill="${PALETTE[s % PALETTE.length]}"><title>${escapeXml(`${series.name} ${category}: ${value}`)}</title></rect>`,
      );
    });
    parts.push(
      text(groupX + groupW * 0.4, MARGIN.top + PLOT_H + 20, category, 'font-size="13" text-anchor="middle"'),
    );
  });
  parts.push(...legend(chart.series.map((s) => s.name)));
  return svg(parts);
}

/** Lines over a numeric x axis. */
export function lineChartSvg(chart: LineChart): string {
  const xs = chart.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = chart.series.flatMap((s) => s.points.map((p) => p[1]));
  const xTicks = niceTicks(Math.min(...xs, ...(chart.markers ?? []).map((m) => m.x)), Math.max(...xs));
  const yTicks = niceTicks(chart.yMin ?? Math.min(0, ...ys), Math.max(...ys));
  const [x0, x1] = [xTicks[0]!, xTicks[xTicks.length - 1]!];
  const [y0, y1] = [yTicks[0]!, yTicks[yTicks.length - 1]!];
  const xOf = (v: number) => MARGIN.left + ((v - x0) / (x1 - x0)) * PLOT_W;
  const yOf = (v: number) => MARGIN.top + PLOT_H - ((v - y0) / (y1 - y0)) * PLOT_H;
  const parts = frame(chart.title, chart.yLabel, yTicks, yOf);
  for (const tick of xTicks) {
    parts.push(
      text(xOf(tick), MARGIN.top + PLOT_H + 20, formatTick(tick), 'font-size="12" text-anchor="middle"'),
    );
  }
  parts.push(
    text(MARGIN.left + PLOT_W / 2, HEIGHT - 15, chart.xLabel, 'font-size="13" text-anchor="middle"'),
  );
  for (const marker of chart.markers ?? []) {
    const x = xOf(marker.x).toFixed(1);
    parts.push(
      `<line x1="${x}" x2="${x}" y1="${MARGIN.top}" y2="${MARGIN.top + PLOT_H}" stroke="#555" stroke-dasharray="4 3"/>`,
      text(Number(x) + 4, MARGIN.top + 14, marker.label, 'font-size="12"'),
    );
  }
  chart.series.forEach((series, i) => {
    const points = series.points.map(([x, y]) => `${xOf(x).toFixed(1)},${yOf(y).toFixed(1)}`).join(' ');
    parts.push(
      `<polyline points="${points}" fill="none" stroke="${PALETTE[i % PALETTE.length]}" stroke-width="2.5"${series.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    );
  });
  parts.push(
    ...legend(
      chart.series.map((s) => s.name),
      chart.series.map((s) => s.dashed ?? false),
    ),
  );
  return svg(parts);
}
