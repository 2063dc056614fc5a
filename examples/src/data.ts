/** Deterministic sample data shared by the examples. */
import * as A from 'apache-arrow';

/** `rows` rows in `batches` batches: id (int64), score (float64), label (utf8 with nulls). */
export function fileRowsTable(rows: number, batches: number): A.Table {
  const per = Math.ceil(rows / batches);
  const out: A.RecordBatch[] = [];
  for (let start = 0; start < rows; start += per) {
    const n = Math.min(per, rows - start);
    const id = new BigInt64Array(n);
    const score = new Float64Array(n);
    const labels: (string | null)[] = new Array(n);
    for (let i = 0; i < n; i++) {
      id[i] = BigInt(start + i);
      score[i] = ((start + i) * 7919) % 1000 / 10;
      labels[i] = (start + i) % 10 === 0 ? null : `row-${start + i}`;
    }
    out.push(new A.RecordBatch({
      id: A.makeData({ type: new A.Int64(), data: id }),
      score: A.makeData({ type: new A.Float64(), data: score }),
      label: A.vectorFromArray(labels, new A.Utf8()).data[0]!,
    }));
  }
  return new A.Table(out);
}
