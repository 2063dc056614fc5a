/**
 * @quiver/bench: runs every Quiver benchmark in one run and renders the report (Markdown, JSON,
 * SVG charts). `npm run bench` at the repository root is its command line (main.ts).
 */
export { defaultBenches, runAll, type BenchSpec, type ProgressOut, type RunOptions, type RunResult } from './run.js';
export { renderReport, writeReport } from './report.js';
export { renderMarkdown, targets, type TargetRow } from './markdown.js';
export { megabytesPerSecond, renderCharts, type Charts } from './charts.js';
export { barChart, escapeXml, formatTick, lineChart, logTicks, type Bar, type BarChartSpec, type LineChartSpec, type Marker, type Series, type Tick } from './svg.js';
export { load, machine, versions } from './machine.js';
export type * from './results.js';
