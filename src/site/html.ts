/** HTML for the static report and docs: escaping, tables, one page shell with inline CSS (no external assets). */

export function escapeHtml(value: unknown): string {
  return String(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** A table; cells are escaped. `id` becomes data-figures for tests and scrapers. */
export function htmlTable(columns: string[], rows: (string | number)[][], options: { id?: string; caption?: string } = {}): string {
  const head = columns.map((c) => `<th scope="col">${escapeHtml(c)}</th>`).join('');
  const body = rows.map((row) => `<tr>${row.map((cell) => `<td${typeof cell === 'number' ? ' class="num"' : ''}>${escapeHtml(typeof cell === 'number' ? cell.toLocaleString('en-US') : cell)}</td>`).join('')}</tr>`).join('\n');
  return `<table${options.id ? ` data-figures="${escapeHtml(options.id)}"` : ''}>${options.caption ? `<caption>${escapeHtml(options.caption)}</caption>` : ''}<thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

const STYLE = `
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 1rem 2rem 4rem; color: #111; line-height: 1.45; }
nav a { margin-right: 1rem; } h1 { margin-bottom: .2rem; } .meta { color: #444; }
section { border-top: 1px solid #ccc; margin-top: 2rem; padding-top: .5rem; }
figure { margin: 1rem 0; } figure svg { max-width: 100%; height: auto; }
figure.wide { overflow-x: auto; } figure.wide svg { max-width: none; }
table { border-collapse: collapse; margin: .75rem 0; font-size: .9rem; } caption { text-align: left; font-weight: 600; padding: .25rem 0; }
th, td { border: 1px solid #ccc; padding: .2rem .5rem; text-align: left; vertical-align: top; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.not-available { background: #fff4d6; border-left: 4px solid #E69F00; padding: .5rem 1rem; }
.note { color: #333; font-style: italic; } pre { background: #f6f6f6; padding: .75rem; overflow-x: auto; font-size: .85rem; }
code { background: #f2f2f2; padding: 0 .2rem; } details { margin: .5rem 0; }
`;

export function htmlPage(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`;
}
