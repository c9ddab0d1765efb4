/** CSV exactly as Hotjar writes it: every field double-quoted, "" for a quote, LF line ends, a final LF. */
export function csvLine(fields: readonly string[]): string {
  let line = '';
  for (let i = 0; i < fields.length; i++) {
    if (i) line += ',';
    line += `"${fields[i]!.replace(/"/g, '""')}"`;
  }
  return `${line}\n`;
}

export function toCsv(header: readonly string[], rows: readonly (readonly string[])[]): string {
  let out = csvLine(header);
  for (const row of rows) out += csvLine(row);
  return out;
}
