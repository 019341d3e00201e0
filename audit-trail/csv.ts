// One CSV line (RFC 4180): fields with a comma, quote or line break are quoted, quotes doubled.
// Cells a spreadsheet would run as a formula (=, +, -, @ first) get a leading apostrophe: the bundle
// is opened in Excel by auditors, and log fields are written by whoever used the system (CWE-1236).
export function csvLine(values: readonly unknown[]): string {
  return `${values.map(csvCell).join(',')}\r\n`;
}

function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = typeof value === 'string' ? value : String(value);
  if (/^[=+\-@\t\r]/.test(text) && typeof value === 'string') text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
