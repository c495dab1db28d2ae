import { describe, expect, it } from 'vitest';
import { barChartSvg, escapeXml, lineChartSvg, niceTicks } from './svg-chart.js';

describe('niceTicks', () => {
  it('covers the range with steps of 1, 2 or 5 × 10^k', () => {
    expect(niceTicks(0, 10)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(niceTicks(0, 3400)).toEqual([0, 1000, 2000, 3000, 4000]);
    expect(niceTicks(0, 0.27)).toEqual([0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3]);
    expect(niceTicks(5, 5)).toEqual([5, 5.2, 5.4, 5.6, 5.8, 6]);
  });
});

describe('charts', () => {
  it('escapes text', () => {
    expect(escapeXml(`a<b>&"'`)).toBe('a&#60;b&#62;&#38;&#34;&#39;');
  });

  it('draws one bar per series and category, heights proportional to values', () => {
    const svg = barChartSvg({
      title: 'A <test>',
      yLabel: 'requests',
      categories: ['Server 1', 'Server 2'],
      series: [
        { name: 'classic', values: [1000, 250] },
        { name: 'maglev', values: [500, 500] },
      ],
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('A &#60;test&#62;');
    const heights = [...svg.matchAll(/<rect x="[^"]+" y="[^"]+" width="[^"]+" height="([^"]+)"/g)].map((m) =>
      Number(m[1]),
    );
    expect(heights).toHaveLength(4);
    expect(heights[0]! / heights[1]!).toBeCloseTo(2, 1);
    expect(heights[2]! / heights[3]!).toBeCloseTo(0.5, 1);
  });

  it('draws one polyline per series through its points, and the markers', () => {
    const svg = lineChartSvg({
      title: 'moved',
      xLabel: 'N',
      yLabel: 'fraction',
      series: [
        {
          name: 'ketama',
          points: [
            [2, 0.5],
            [4, 0.25],
          ],
        },
        {
          name: 'ideal',
          points: [
            [2, 0.5],
            [4, 0.25],
          ],
          dashed: true,
        },
      ],
      markers: [{ x: 3, label: 'killed' }],
    });
    const lines = [...svg.matchAll(/<polyline points="([^"]+)"/g)].map((m) => m[1]!.split(' '));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toEqual(lines[1]);
    expect(lines[0]).toHaveLength(2);
    expect(svg).toContain('stroke-dasharray="6 4"');
    expect(svg).toContain('killed');
  });
});
