/**
 * The `search bench` report as PDF (pdfkit): the same content as the
 * Markdown report (run details, the chart, one table per mode sorted by
 * speed, which method the server uses and why, the methods), laid out on
 * landscape A4 pages. The chart is the report's own SVG, drawn as vectors
 * (svg-to-pdfkit).
 */
import PDFDocument from "pdfkit";
import SVGtoPDF from "svg-to-pdfkit";
import type { SearchBenchResult } from "./mod.ts";
import { markdownReport, type ReportExtras, svgChart } from "./bench_report.ts";

/** The few pdfkit calls used here (pdfkit ships no type declarations). */
interface Doc {
  page: { width: number; height: number; margins: { left: number; right: number; bottom: number } };
  x: number;
  y: number;
  info: Record<string, unknown>;
  font(name: string): Doc;
  fontSize(size: number): Doc;
  fillColor(color: string): Doc;
  strokeColor(color: string): Doc;
  lineWidth(w: number): Doc;
  text(
    text: string,
    x?: number | Record<string, unknown>,
    y?: number,
    o?: Record<string, unknown>,
  ): Doc;
  widthOfString(text: string): number;
  heightOfString(text: string, o?: Record<string, unknown>): number;
  moveDown(lines?: number): Doc;
  moveTo(x: number, y: number): Doc;
  lineTo(x: number, y: number): Doc;
  stroke(): Doc;
  addPage(): Doc;
  on(event: "data", fn: (chunk: Uint8Array) => void): Doc;
  on(event: "end" | "error", fn: (err?: unknown) => void): Doc;
  end(): void;
}

const FONT = { plain: "Helvetica", bold: "Helvetica-Bold", code: "Courier" } as const;

/** Characters the PDF standard fonts (WinAnsi) lack, spelled in ones they have. */
const SPELLED: Record<string, string> = { "≤": "<=", "≥": ">=", "×": "x", "→": "->", "≈": "~" };

function winAnsi(s: string): string {
  return s.replace(/[^\u0020-\u00ff–—‘’“”•…€]/g, (c) => SPELLED[c] ?? "?");
}

type Segment = { text: string; font: string };

/** Splits Markdown inline text into plain, `**bold**` and `` `code` `` segments. */
function segments(text: string): Segment[] {
  return text.split(/(\*\*[^*]+\*\*|`[^`]+`)/).filter((s) => s !== "").map((s) =>
    s.startsWith("**")
      ? { text: winAnsi(s.slice(2, -2).replace(/`/g, "")), font: FONT.bold }
      : s.startsWith("`")
      ? { text: winAnsi(s.slice(1, -1)), font: FONT.code }
      : { text: winAnsi(s), font: FONT.plain }
  );
}

class Layout {
  readonly doc: Doc;
  constructor(doc: Doc) {
    this.doc = doc;
  }
  get left(): number {
    return this.doc.page.margins.left;
  }
  get width(): number {
    return this.doc.page.width - this.doc.page.margins.left - this.doc.page.margins.right;
  }
  get bottom(): number {
    return this.doc.page.height - this.doc.page.margins.bottom;
  }
  /** Starts a new page unless `height` more points fit on this one. */
  room(height: number): void {
    if (this.doc.y + height > this.bottom) this.doc.addPage();
  }
  /** A paragraph of inline Markdown. */
  paragraph(text: string, size = 10, indent = 0): void {
    const doc = this.doc;
    const parts = segments(text);
    doc.fontSize(size).fillColor("#000");
    this.room(size * 2.5);
    const x = this.left + indent;
    parts.forEach((p, i) => {
      // Courier runs wider than Helvetica: a smaller size keeps code words in proportion.
      doc.font(p.font).fontSize(p.font === FONT.code ? size * 0.9 : size);
      const opts = { width: this.width - indent, continued: i < parts.length - 1 };
      if (i === 0) doc.text(p.text, x, doc.y, opts);
      else doc.text(p.text, opts);
    });
    doc.moveDown(0.4);
  }
  heading(text: string, size: number): void {
    this.room(size * 9); // the heading and a few lines of what follows stay together
    this.doc.moveDown(0.3);
    this.doc.font(FONT.bold).fontSize(size).fillColor("#000").text(winAnsi(text), this.left);
    this.doc.moveDown(0.3);
  }
  /** A Markdown table: header row, alignment row, body rows. */
  table(rows: string[][], rightAligned: boolean[]): void {
    const doc = this.doc;
    const cells = rows.map((r) => r.map((c) => segments(c).map((s) => s.text).join("")));
    const bold = rows.map((r) => r.map((c) => c.includes("**")));
    let size = 9;
    const widths = () =>
      cells[0]!.map((_, i) =>
        Math.max(...cells.map((r, ri) => {
          doc.font(ri === 0 || bold[ri]![i] ? FONT.bold : FONT.plain).fontSize(size);
          return doc.widthOfString(r[i] ?? "");
        })) + 10
      );
    let w = widths();
    while (w.reduce((a, b) => a + b, 0) > this.width && size > 5) {
      size -= 0.5;
      w = widths();
    }
    const rowH = size * 1.6;
    const drawRow = (ri: number) => {
      const y = doc.y;
      let x = this.left;
      cells[ri]!.forEach((c, i) => {
        doc.font(ri === 0 || bold[ri]![i] ? FONT.bold : FONT.plain).fontSize(size)
          .fillColor("#000");
        const align = rightAligned[i] ? "right" : "left";
        doc.text(c, x + 4, y + size * 0.3, { width: w[i]! - 8, align, lineBreak: false });
        x += w[i]!;
      });
      doc.lineWidth(ri === 0 ? 0.8 : 0.3).strokeColor(ri === 0 ? "#000" : "#bbb")
        .moveTo(this.left, y + rowH).lineTo(x, y + rowH).stroke();
      doc.x = this.left;
      doc.y = y + rowH;
    };
    this.room(rowH * Math.min(cells.length, 4));
    drawRow(0);
    for (let ri = 1; ri < cells.length; ri++) {
      if (doc.y + rowH > this.bottom) {
        doc.addPage();
        drawRow(0);
      }
      drawRow(ri);
    }
    doc.moveDown(0.8);
  }
  /** The SVG chart, scaled to the page width (or the room left on a fresh page). */
  chart(svg: string): void {
    const m = /viewBox="0 0 ([\d.]+) ([\d.]+)"/.exec(svg);
    const vw = Number(m?.[1] ?? 920), vh = Number(m?.[2] ?? 380);
    let width = this.width;
    let height = (width * vh) / vw;
    const maxH = this.bottom - this.doc.page.margins.bottom - 20;
    if (height > maxH) {
      height = maxH;
      width = (height * vw) / vh;
    }
    this.room(height + 10);
    SVGtoPDF(this.doc, svg, this.left, this.doc.y, {
      width,
      height,
      preserveAspectRatio: "xMinYMin meet",
      assumePt: true,
    });
    this.doc.x = this.left;
    this.doc.y += height + 10;
  }
}

function tableRow(line: string): string[] {
  return line.trim().replace(/^\||\|$/g, "").split("|").map((c) => c.trim());
}

/**
 * Renders the benchmark report as a PDF document: the Markdown report's
 * headings, paragraphs, tables (sorted by speed) and lists, with the chart
 * where the Markdown embeds it.
 *
 * @example
 * ```ts
 * await Deno.writeFile("report.pdf", await pdfReport(result, { notes }));
 * ```
 */
export function pdfReport(
  result: SearchBenchResult,
  extras: ReportExtras = {},
): Promise<Uint8Array> {
  const markdown = markdownReport(result, "chart.svg", extras);
  const doc = new PDFDocument({
    size: "A4",
    layout: "landscape",
    margin: 40,
    info: { Title: "sockkit search: benchmark of search methods", Creator: "sockkit search bench" },
  }) as unknown as Doc;
  const chunks: Uint8Array[] = [];
  const done = new Promise<Uint8Array>((resolve, reject) => {
    doc.on("data", (c) => chunks.push(c));
    doc.on("error", reject);
    doc.on("end", () => {
      const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let at = 0;
      for (const c of chunks) {
        out.set(c, at);
        at += c.length;
      }
      resolve(out);
    });
  });
  const page = new Layout(doc);
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === "") continue;
    if (line.startsWith("# ")) page.heading(line.slice(2), 18);
    else if (line.startsWith("## ")) page.heading(line.slice(3), 13);
    else if (/^!\[.*\]\(.*\)$/.test(line)) page.chart(svgChart(result));
    else if (line.startsWith("- ")) page.paragraph(`•  ${line.slice(2)}`, 10, 8);
    else if (line.startsWith("|")) {
      const block: string[] = [];
      while (i < lines.length && lines[i]!.startsWith("|")) block.push(lines[i++]!);
      i--;
      const [head, rule, ...body] = block.map(tableRow);
      page.table([head!, ...body], (rule ?? []).map((r) => r.endsWith(":")));
    } else {
      let text = line;
      while (i + 1 < lines.length && /^[^#|!\- ]/.test(lines[i + 1]!)) text += ` ${lines[++i]}`;
      page.paragraph(text);
    }
  }
  doc.end();
  return done;
}
