/** A plain-text table for terminals: columns padded to their widest cell, numbers right-aligned. */
export function textTable(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const cells = [header.map(String), ...rows.map((row) => row.map(String))];
  const numeric = header.map((_, column) => rows.length > 0 && rows.every((row) => typeof row[column] === "number" || /^-?[\d.,$]+$/.test(String(row[column] ?? ""))));
  const widths = header.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? "").length)));
  return `${cells
    .map((row) =>
      row
        .map((cell, column) => (numeric[column] ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n")}\n`;
}
