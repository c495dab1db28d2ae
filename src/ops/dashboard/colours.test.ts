import { describe, expect, it } from 'vitest';
import { DASHBOARD_JS } from './client.js';

/** The dashboard's own colour function, taken from the script the browser runs. */
const source = /function colour\(number\) \{[\s\S]*?\n\}/.exec(DASHBOARD_JS)![0];
const colour = new Function(`${source}; return colour;`)() as (n: number) => string;

function hsl(text: string): { hue: number; lightness: number } {
  const [, hue, lightness] = /^hsl\(([\d.]+) \d+% (\d+)%\)$/.exec(text)!;
  return { hue: Number(hue), lightness: Number(lightness) };
}

describe('dashboard colours', () => {
  it('stay distinct for 64 replicas: close hues never share a lightness', () => {
    for (let a = 1; a <= 64; a++) {
      for (let b = a + 1; b <= 64; b++) {
        const x = hsl(colour(a));
        const y = hsl(colour(b));
        const apart = Math.min(Math.abs(x.hue - y.hue), 360 - Math.abs(x.hue - y.hue));
        if (apart < 20) expect(x.lightness, `Server ${a} and Server ${b}`).not.toBe(y.lightness);
      }
    }
    expect(colour(21)).not.toBe(colour(42));
  });
});
