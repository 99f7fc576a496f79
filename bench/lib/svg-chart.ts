/**
 * A line chart as a self-contained SVG string, written by hand: the benchmarks' charts need axes,
 * lines, markers and a legend, which is less code than a charting dependency. Readable as a file in
 * any browser or image viewer, and diffable as text.
 */

export interface ChartSeries {
  label: string;
  color: string;
  /** Dashed lines tell a second measure of the same thing apart (e.g. per-stream next to aggregate). */
  dashed?: boolean;
  points: Array<{ x: number; y: number }>;
  /** Where each point's value is written: above the marker (default) or below it. */
  labelSide?: "above" | "below";
}

export interface LineChart {
  title: string;
  /** Small print under the title: machine, load, settings. */
  subtitle?: string[];
  xLabel: string;
  yLabel: string;
  /** The x values to mark; a log2 axis spaces 1, 2, 4, 8, 16 evenly. */
  xTicks: number[];
  xScale: "linear" | "log2";
  /** A log y axis keeps lines of very different sizes (tiny and engine-bound models) readable on one chart. */
  yScale: "linear" | "log10";
  series: ChartSeries[];
}

const width = 900;
const height = 560;
const margin = { left: 90, right: 250, top: 96, bottom: 70 };

export function lineChartSvg(chart: LineChart): string {
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const ys = chart.series.flatMap((s) => s.points.map((p) => p.y)).filter((y) => Number.isFinite(y) && (chart.yScale === "linear" || y > 0));
  const [yMin, yMax] = yDomain(ys, chart.yScale);
  const [xMin, xMax] = [Math.min(...chart.xTicks), Math.max(...chart.xTicks)];

  const xf = chart.xScale === "log2" ? Math.log2 : (v: number) => v;
  const yf = chart.yScale === "log10" ? Math.log10 : (v: number) => v;
  // The outer x values sit inside the frame, so their value labels clear the y axis's tick labels.
  const inset = 32;
  const px = (x: number) => margin.left + inset + (xMax === xMin ? plotW / 2 - inset : ((xf(x) - xf(xMin)) / (xf(xMax) - xf(xMin))) * (plotW - 2 * inset));
  const py = (y: number) => margin.top + plotH - ((yf(y) - yf(yMin)) / (yf(yMax) - yf(yMin))) * plotH;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${margin.left}" y="28" font-size="17" font-weight="bold">${esc(chart.title)}</text>`,
  );
  (chart.subtitle ?? []).forEach((line, i) => out.push(`<text x="${margin.left}" y="${48 + i * 15}" fill="#555">${esc(line)}</text>`));

  // Grid and tick labels.
  for (const y of yTicks(yMin, yMax, chart.yScale)) {
    const at = py(y).toFixed(1);
    out.push(`<line x1="${margin.left}" x2="${margin.left + plotW}" y1="${at}" y2="${at}" stroke="#e3e3e3"/>`);
    out.push(`<text x="${margin.left - 8}" y="${at}" text-anchor="end" dominant-baseline="middle">${esc(formatNumber(y))}</text>`);
  }
  for (const x of chart.xTicks) {
    const at = px(x).toFixed(1);
    out.push(`<line x1="${at}" x2="${at}" y1="${margin.top}" y2="${margin.top + plotH}" stroke="#eeeeee"/>`);
    out.push(`<text x="${at}" y="${margin.top + plotH + 18}" text-anchor="middle">${esc(formatNumber(x))}</text>`);
  }
  out.push(`<rect x="${margin.left}" y="${margin.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${margin.left + plotW / 2}" y="${height - 22}" text-anchor="middle" font-size="13">${esc(chart.xLabel)}</text>`);
  const yMid = margin.top + plotH / 2;
  out.push(`<text x="22" y="${yMid}" text-anchor="middle" font-size="13" transform="rotate(-90 22 ${yMid})">${esc(chart.yLabel)}</text>`);

  // Lines, markers and values.
  for (const s of chart.series) {
    const points = s.points.filter((p) => Number.isFinite(p.y) && (chart.yScale === "linear" || p.y > 0));
    if (points.length === 0) continue;
    const path = points.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(" ");
    out.push(`<polyline points="${path}" fill="none" stroke="${s.color}" stroke-width="2.2"${s.dashed ? ' stroke-dasharray="7 5"' : ""}/>`);
    for (const p of points) {
      const [cx, cy] = [px(p.x), py(p.y)];
      const marker = s.dashed
        ? `<rect x="${(cx - 4).toFixed(1)}" y="${(cy - 4).toFixed(1)}" width="8" height="8" fill="white" stroke="${s.color}" stroke-width="2">`
        : `<circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="4.5" fill="${s.color}">`;
      out.push(`${marker}<title>${esc(`${s.label}: ${formatNumber(p.y)} at ${formatNumber(p.x)}`)}</title>${s.dashed ? "</rect>" : "</circle>"}`);
      const dy = s.labelSide === "below" ? 17 : -9;
      // A white halo keeps a value readable where lines or other labels cross it.
      out.push(
        `<text x="${cx.toFixed(1)}" y="${(cy + dy).toFixed(1)}" text-anchor="middle" font-size="10.5" fill="${s.color}" stroke="white" stroke-width="3" paint-order="stroke">${esc(formatNumber(p.y))}</text>`,
      );
    }
  }

  // Legend.
  const lx = margin.left + plotW + 20;
  chart.series.forEach((s, i) => {
    const ly = margin.top + 12 + i * 24;
    out.push(`<line x1="${lx}" x2="${lx + 34}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2.2"${s.dashed ? ' stroke-dasharray="7 5"' : ""}/>`);
    out.push(`<text x="${lx + 42}" y="${ly}" dominant-baseline="middle">${esc(s.label)}</text>`);
  });

  out.push("</svg>");
  return out.join("\n") + "\n";
}

function yDomain(values: number[], scale: LineChart["yScale"]): [number, number] {
  if (values.length === 0) return scale === "log10" ? [1, 10] : [0, 1];
  const max = Math.max(...values);
  if (scale === "log10") {
    const min = Math.min(...values);
    return [10 ** Math.floor(Math.log10(min)), 10 ** Math.ceil(Math.log10(max) + 1e-9)];
  }
  const step = niceStep(max / 5);
  return [0, Math.ceil(max / step) * step || 1];
}

function yTicks(min: number, max: number, scale: LineChart["yScale"]): number[] {
  const ticks: number[] = [];
  if (scale === "log10") {
    // 1, 2, 5 per decade: enough to read a value off a log axis.
    for (let decade = min; decade < max * 1.0001; decade *= 10) {
      for (const m of [1, 2, 5]) if (decade * m <= max * 1.0001) ticks.push(decade * m);
    }
    return ticks;
  }
  const step = niceStep(max / 5);
  for (let y = min; y <= max + step / 1000; y += step) ticks.push(y);
  return ticks;
}

function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw || 1));
  const m = raw / power;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * power;
}

function formatNumber(value: number): string {
  if (Math.abs(value) >= 10_000) return `${Math.round(value / 100) / 10}k`;
  if (Math.abs(value) >= 100) return String(Math.round(value));
  if (Math.abs(value) >= 10) return String(Math.round(value * 10) / 10);
  return String(Math.round(value * 100) / 100);
}

function esc(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
