/** How the benchmarks print: a table of aligned columns, and the goals each met or MISSED. */
export function printTable(rows: string[][]): void {
  const widths = (rows[0] ?? []).map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  for (const row of rows)
    console.log(
      row
        .map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0)))
        .join('   '),
    );
}

export interface Goal {
  goal: string;
  value: number;
  ok: boolean;
}

export function printGoals(goals: Goal[]): void {
  console.log('\nGoals:');
  for (const goal of goals) console.log(`  ${goal.ok ? 'met   ' : 'MISSED'}  ${goal.goal}: ${goal.value.toFixed(2)}`);
}
