/**
 * Log-log line charts as SVG: one or more panels side by side (wrapping
 * into rows), each with its own axes, optional target line and a legend
 * under it naming only its lines. Used by the `search bench` chart and by
 * the growth chart of `deno task bench --growth`.
 */

/** One line of a panel. */
export interface ChartSeries {
  /** Legend text (and the line's tooltip). */
  name: string;
  /** `[x, y]` points; points with a non-positive or non-finite value are left out. */
  points: Array<[number, number]>;
  /** Drawn thicker (for example the method the server uses). Default false. */
  bold?: boolean;
}

/** One panel. */
export interface ChartPanel {
  /** Bold title above the panel. */
  title: string;
  /** Axis titles. */
  xLabel: string;
  yLabel: string;
  /** Lines, in legend order. */
  series: ChartSeries[];
  /** A dashed black horizontal line, drawn when it falls inside the y range. */
  target?: { y: number; label: string };
  /** Tick labels. Default: numbers with k/M suffixes. */
  xTick?: (x: number) => string;
  yTick?: (y: number) => string;
  /** Extra attributes on the panel's `<g>` (for example `data-mode="reread"`). */
  attrs?: Record<string, string>;
}

/** Options for {@linkcode svgLogLogChart}. */
export interface ChartOptions {
  /** Panels per row. Default: all in one row. */
  columns?: number;
  /** One y range for every panel (when they share a unit). Default false. */
  sharedY?: boolean;
}

/**
 * Line styles a reader can tell apart: eight well-separated colours (the
 * Okabe-Ito set with its yellow, which vanishes on white, replaced by
 * purple), then the same colours dashed. The target line is black and
 * dashed, a style no series gets.
 */
const PALETTE = [
  "#0072B2", // blue
  "#E69F00", // orange
  "#009E73", // green
  "#CC79A7", // pink
  "#56B4E9", // sky blue
  "#7F3C8D", // purple
  "#D55E00", // vermillion
  "#8C6D31", // brown
];
const TARGET_STYLE = { color: "#000000", dash: "8,4" };

/** The line style of the `i`-th series of a panel. */
export function lineStyle(i: number): { color: string; dash: string } {
  return { color: PALETTE[i % PALETTE.length]!, dash: i < PALETTE.length ? "" : "6,3" };
}

/** Escapes text for SVG. */
export function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** `1000` → `1k`, `1000000` → `1M`, else the number. */
export function compactNumber(v: number): string {
  if (v >= 1e6) return `${v / 1e6}M`;
  if (v >= 1e3) return `${v / 1e3}k`;
  return String(v);
}

const W = 460, H = 340, M = { l: 70, r: 26, t: 34, b: 44 }, LEGEND_ROW = 18;

function usable(series: ChartSeries): Array<[number, number]> {
  return series.points.filter(([x, y]) => x > 0 && y > 0 && Number.isFinite(x + y));
}

function decades(values: number[]): [number, number] {
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...values))));
  let hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...values))));
  if (hi === lo) hi = lo * 10;
  return [lo, hi];
}

/** One panel at the origin; returns its SVG and how many legend rows it used. */
function panel(p: ChartPanel, yRange: [number, number]): { svg: string; legendRows: number } {
  const pts = p.series.map(usable);
  const xs = [...new Set(pts.flat().map(([x]) => x))].sort((a, b) => a - b);
  const [yMin, yMax] = yRange;
  const xMin = xs[0] ?? 1, xMax = xs.at(-1) ?? 10;
  const xTick = p.xTick ?? compactNumber;
  const yTick = p.yTick ?? compactNumber;
  const px = (x: number) =>
    M.l + (xMax === xMin ? 0.5 : (Math.log10(x) - Math.log10(xMin)) /
        (Math.log10(xMax) - Math.log10(xMin))) * (W - M.l - M.r);
  const py = (y: number) =>
    H - M.b - (Math.log10(y) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin)) *
      (H - M.t - M.b);
  const attrs = Object.entries(p.attrs ?? {}).map(([k, v]) => ` ${k}="${esc(v)}"`).join("");
  const parts = [
    `<g class="panel"${attrs}>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-weight="bold">${esc(p.title)}</text>`,
  ];
  for (let e = Math.round(Math.log10(yMin)); e <= Math.round(Math.log10(yMax)); e++) {
    const y = py(Math.pow(10, e));
    parts.push(
      `<line x1="${M.l}" y1="${y}" x2="${W - M.r}" y2="${y}" stroke="#ddd"/>`,
      `<text x="${M.l - 6}" y="${y + 4}" text-anchor="end" font-size="11">${
        esc(yTick(Math.pow(10, e)))
      }</text>`,
    );
  }
  for (const s of xs) {
    const x = px(s);
    parts.push(
      `<line x1="${x}" y1="${M.t}" x2="${x}" y2="${H - M.b}" stroke="#eee"/>`,
      `<text x="${x}" y="${H - M.b + 16}" text-anchor="middle" font-size="11">${
        esc(xTick(s))
      }</text>`,
    );
  }
  const midY = (M.t + H - M.b) / 2;
  parts.push(
    `<text x="${(M.l + W - M.r) / 2}" y="${H - 8}" text-anchor="middle" font-size="12">${
      esc(p.xLabel)
    }</text>`,
    `<text class="y-title" x="16" y="${midY}" text-anchor="middle" font-size="12" ` +
      `transform="rotate(-90 16 ${midY})">${esc(p.yLabel)}</text>`,
  );
  if (p.target && yMin <= p.target.y && p.target.y <= yMax) {
    const y = py(p.target.y);
    parts.push(
      `<line class="target" x1="${M.l}" y1="${y}" x2="${
        W - M.r
      }" y2="${y}" stroke="${TARGET_STYLE.color}" stroke-dasharray="${TARGET_STYLE.dash}"/>`,
      `<text x="${M.l + 4}" y="${y - 4}" font-size="11" fill="${TARGET_STYLE.color}">${
        esc(p.target.label)
      }</text>`,
    );
  }
  const drawn = p.series.map((s, i) => ({ s, i, pts: pts[i]! })).filter((d) => d.pts.length > 0);
  for (const { s, i, pts: line } of drawn) {
    const style = lineStyle(i);
    const coords = line.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`);
    const dash = style.dash ? ` stroke-dasharray="${style.dash}"` : "";
    parts.push(
      `<polyline fill="none" stroke="${style.color}" stroke-width="${
        s.bold ? 3.5 : 1.5
      }"${dash} points="${coords.join(" ")}"><title>${esc(s.name)}</title></polyline>`,
    );
    for (const c of coords) {
      const [x, y] = c.split(",");
      parts.push(`<circle cx="${x}" cy="${y}" r="2.5" fill="${style.color}"/>`);
    }
  }
  parts.push(`<g class="legend">`);
  drawn.forEach(({ s, i }, k) => {
    const style = lineStyle(i);
    const x = 20 + (k % 2) * ((W - 40) / 2), y = H + 6 + Math.floor(k / 2) * LEGEND_ROW;
    const dash = style.dash ? ` stroke-dasharray="${style.dash}"` : "";
    parts.push(
      `<line x1="${x}" y1="${y + 3}" x2="${x + 22}" y2="${y + 3}" stroke="${style.color}" ` +
        `stroke-width="${s.bold ? 3.5 : 2}"${dash}/>`,
      `<text x="${x + 28}" y="${y + 7}" font-size="12">${esc(s.name)}</text>`,
    );
  });
  parts.push(`</g>`, `</g>`);
  return { svg: parts.join("\n"), legendRows: Math.ceil(drawn.length / 2) };
}

/**
 * An SVG document of log-log line-chart panels.
 *
 * @example
 * ```ts
 * const svg = svgLogLogChart([{
 *   title: "reread", xLabel: "lines", yLabel: "p50 ms",
 *   series: [{ name: "simd", points: [[10_000, 0.03], [1_000_000, 1.6]] }],
 * }]);
 * ```
 */
export function svgLogLogChart(panels: ChartPanel[], options: ChartOptions = {}): string {
  const columns = Math.max(1, Math.min(options.columns ?? panels.length, panels.length));
  const allY = (ps: ChartPanel[]) => ps.flatMap((p) => p.series.flatMap(usable)).map(([, y]) => y);
  const shared = options.sharedY ? allY(panels) : [];
  const rendered = panels.map((p) => {
    const ys = options.sharedY ? shared : allY([p]);
    return panel(p, ys.length > 0 ? decades(ys) : [1, 10]);
  });
  const rows: string[] = [];
  let top = 0;
  for (let r = 0; r * columns < rendered.length; r++) {
    const row = rendered.slice(r * columns, (r + 1) * columns);
    row.forEach((p, c) => rows.push(`<g transform="translate(${c * W},${top})">\n${p.svg}\n</g>`));
    top += H + 6 + Math.max(...row.map((p) => p.legendRows)) * LEGEND_ROW + 8;
  }
  const width = columns * W;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${top}" viewBox="0 0 ${width} ${top}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${
    rows.join("\n")
  }\n</svg>\n`;
}
