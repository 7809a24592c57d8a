/**
 * A plain text table: columns padded to their widest cell, two spaces apart.
 * Columns of numbers (cells starting with a digit, such as "212.4 MiB") are
 * right-aligned unless a column says otherwise.
 */
export interface Column {
  header: string;
  align?: 'left' | 'right';
}

export interface TableOptions {
  /** Cut lines longer than this (a terminal's width), ending them with "…". */
  width?: number;
}

const GAP = '  ';
const NUMBER = /^[-+]?\.?\d/;

export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[], options: TableOptions = {}): string {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? '').length)));
  const aligns = columns.map((c, i) => c.align ?? (rows.length > 0 && rows.every((r) => (r[i] ?? '') === '' || NUMBER.test(r[i]!)) ? 'right' : 'left'));
  const line = (cells: readonly string[]): string => {
    const text = columns
      .map((_, i) => {
        const cell = cells[i] ?? '';
        // The last left-aligned column is not padded: no trailing blanks.
        if (i === columns.length - 1 && aligns[i] === 'left') return cell;
        return aligns[i] === 'right' ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!);
      })
      .join(GAP);
    return truncate(text.trimEnd(), options.width);
  };
  return [line(columns.map((c) => c.header)), ...rows.map(line)].join('\n') + '\n';
}

function truncate(text: string, width: number | undefined): string {
  if (width === undefined || width <= 0 || text.length <= width) return text;
  return width === 1 ? '…' : text.slice(0, width - 1) + '…';
}
