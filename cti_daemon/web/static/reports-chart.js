// The report's bar chart as inline SVG, built with DOM APIs (no library, no style attributes: the
// Content-Security-Policy is default-src 'self'; colours come from console.css by class).
const NS = "http://www.w3.org/2000/svg";
const SERIES = ["offered", "answered", "missed"];

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

// rows: [{key, offered, answered, missed}], label(key) -> the row's caption, names: series -> legend text.
// `series` picks other columns (the times to answer); `format` writes a value, null as "—" (no figure).
export function barChart(rows, { label, names, title, series = SERIES, format = String }) {
  const bar = 12;
  const group = bar * series.length + 14;
  const left = 150;
  const width = 720;
  const plot = width - left - 60;
  const top = 28;
  const height = top + rows.length * group + 10;
  const most = Math.max(1, ...rows.flatMap((r) => series.map((s) => r[s] || 0)));
  const root = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: "img",
    "aria-label": title,
    class: "bar-chart",
  });
  root.append(svg("title", {}, title));
  series.forEach((s, i) => {
    const x = left + i * 190;
    root.append(svg("rect", { x, y: 6, width: 12, height: 12, class: `series series-${s}` }));
    root.append(svg("text", { x: x + 18, y: 16, class: "chart-legend" }, names[s]));
  });
  rows.forEach((row, n) => {
    const y0 = top + n * group;
    const g = svg("g", { class: "chart-row", "data-key": row.key });
    g.append(svg("text", { x: left - 8, y: y0 + group / 2, class: "chart-label", "text-anchor": "end" }, label(row.key)));
    series.forEach((s, i) => {
      const value = row[s] ?? null;
      const said = value === null ? "—" : format(value);
      const y = y0 + i * bar;
      const w = Math.max(value ? 2 : 0, Math.round(((value || 0) / most) * plot));
      const rect = svg("rect", { x: left, y, width: w, height: bar - 2, class: `series series-${s}`, "data-series": s, "data-value": value ?? "" });
      rect.append(svg("title", {}, `${names[s]}: ${said}`));
      g.append(rect, svg("text", { x: left + w + 4, y: y + bar - 3, class: "chart-value" }, said));
    });
    root.append(g);
  });
  return root;
}
