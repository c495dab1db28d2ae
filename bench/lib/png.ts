/**
 * SVG → PNG with @resvg/resvg-js when it is installed (no browser). It is not a dependency of this
 * branch: the analysis charts of another branch add it, and a second copy of the same line in
 * package.json would only make the merge conflict. Without it the caller keeps the SVG alone.
 */
export async function svgToPng(svg: string): Promise<Buffer | undefined> {
  const name = '@resvg/resvg-js';
  let module: { Resvg: new (svg: string, options?: object) => { render(): { asPng(): Buffer } } };
  try {
    module = (await import(name)) as typeof module;
  } catch {
    return undefined;
  }
  const resvg = new module.Resvg(svg, {
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
    background: '#ffffff',
  });
  return resvg.render().asPng();
}
