// The report: RESULTS.md's tables (ratios, targets and the marks they put in the headline table,
// the stamp) and the SVG charts (well-formed XML with the expected series and points), rendered
// from fixtures in the shape the benches write. No bench runs here.
import test from 'ava';
import { barChart, escapeXml, lineChart, logTicks, renderCharts, renderReport, targets, type Collected } from '../src/index.js';
import { collected, parseSvg, pct, ratio, seriesOf, tableRow, tableRows } from './helpers.js';

const num = (v: number | null): number => (v === null ? NaN : v);

test('the headline table has one row per comparison, with each bench\'s ratio per batch size', (t) => {
  const c = collected();
  const md = renderReport(c)['RESULTS.md']!;
  const header = tableRow(md, 'comparison');
  t.deepEqual(header, ['comparison', '1K rows', '64K rows', '1M rows', 'target']);
  const sizes = [1024, 65536, 1048576];
  const cells = (first: string) => tableRow(md, first).slice(1, 4).map((s) => s.replace(/ [✓✗]$/, ''));

  for (const scheme of ['unix', 'tcp'] as const) {
    const q = (rows: number) => c.socket!.throughput.find((x) => x.scheme === scheme && x.impl === 'quiver' && x.rows === rows)!;
    t.deepEqual(cells(`${scheme}: Quiver / apache-arrow, both over the socket`), sizes.map((n) => ratio(num(q(n).vsArrow))));
    t.deepEqual(cells(`${scheme}: Quiver / raw bytes over the socket (ceiling)`), sizes.map((n) => pct(num(q(n).vsRaw))));
  }
  const uq = (rows: number) => c.socket!.throughput.find((x) => x.scheme === 'unix' && x.impl === 'quiver' && x.rows === rows)!;
  t.deepEqual(cells('unix: Quiver / pyarrow → pyarrow'), sizes.map((n) => ratio(num(uq(n).vsPyarrow))));
  t.is(tableRows(md, 'tcp: Quiver / pyarrow → pyarrow').length, 0, 'pyarrow runs over unix only');

  const shm = (impl: string, rows: number) => c.shm!.throughput.find((x) => x.impl === impl && x.rows === rows)!;
  t.deepEqual(cells('shm / unix socket (both Quiver)'), sizes.map((n) => ratio(num(shm('shm', n).vsSocket))));
  t.deepEqual(cells('worker / postMessage of the IPC bytes (transferred)'), sizes.map((n) => ratio(num(shm('worker', n).vsPostMessage))));
  t.deepEqual(cells('shm / memcpy of the same bytes (ceiling)'), sizes.map((n) => pct(num(shm('shm', n).ofMemcpy))));
  t.deepEqual(cells('worker / memcpy of the same bytes (ceiling)'), sizes.map((n) => pct(num(shm('worker', n).ofMemcpy))));

  for (const op of ['encode', 'decode'] as const) {
    const s = (rows: number) => c.codec!.summaries.find((x) => x.op === op && x.rows === rows)!;
    t.deepEqual(cells(`codec ${op}: Quiver / apache-arrow`), sizes.map((n) => ratio(num(s(n).vsArrow))));
    t.deepEqual(cells(`codec ${op}: Quiver / flechette`), sizes.map((n) => ratio(num(s(n).vsFlechette))));
  }
  // Spot checks against the fixture's numbers as written by the benches.
  t.deepEqual(tableRow(md, 'unix: Quiver / apache-arrow, both over the socket'), ['unix: Quiver / apache-arrow, both over the socket', '3.92x ✓', '1.63x ✗', '2.03x ✓', '≥2x apache-arrow']);
  t.deepEqual(tableRow(md, 'shm / unix socket (both Quiver)'), ['shm / unix socket (both Quiver)', '0.73x', '5.13x', '7.40x ✓', 'shm ≥ 5x Unix socket']);
});

test('the marks in the headline table are the benches\' own verdicts, only where a target applies', (t) => {
  const c = collected();
  // Flip one verdict: the report must follow the bench, not recompute it.
  const tgt = c.socket!.targets.find((x) => x.target === '≥2x apache-arrow' && x.scheme === 'tcp' && x.rows === 1024)!;
  tgt.met = !tgt.met;
  const md = renderReport(c)['RESULTS.md']!;
  const row = tableRow(md, 'tcp: Quiver / apache-arrow, both over the socket');
  t.true(row[1]!.endsWith(tgt.met ? '✓' : '✗'));
  const raw = tableRow(md, 'unix: Quiver / raw bytes over the socket (ceiling)');
  t.false(/[✓✗]/.test(raw[1]!), 'no raw-ceiling target at 1K rows');
  t.true(/[✓✗]$/.test(raw[2]!) && /[✓✗]$/.test(raw[3]!));
  const flechette = tableRow(md, 'codec encode: Quiver / flechette');
  t.false(flechette.some((x) => /[✓✗]/.test(x)), 'flechette has no target');
});

test('the targets table lists every target of every bench with its result, and counts them', (t) => {
  const c = collected();
  const all = targets(c);
  t.is(all.length, c.codec!.summaries.length + c.socket!.targets.length + c.shm!.targets.length);
  const met = all.filter((x) => x.met).length;
  t.is(met, [...c.codec!.summaries, ...c.socket!.targets, ...c.shm!.targets].filter((x) => x.met).length);
  const md = renderReport(c)['RESULTS.md']!;
  t.true(md.includes(`${met} of ${all.length} met.`));
  const rows = ['codec', 'socket', 'shm'].flatMap((b) => tableRows(md, b)).filter((r) => r.length === 6);
  t.is(rows.length, all.length);
  t.is(rows.filter((r) => r[5] === 'met').length, met);
  t.is(rows.filter((r) => r[5] === '**NOT met**').length, all.length - met);
  // The shm bench's size, named in its text, becomes the "where" column.
  t.deepEqual(tableRows(md, 'shm').find((r) => r[1] === 'worker ≥ 3x postMessage'), ['shm', 'worker ≥ 3x postMessage', '1K rows', '1.61x', '', '**NOT met**']);
  t.deepEqual(tableRows(md, 'socket').find((r) => r[1] === '≥85% of raw' && r[2] === 'tcp, 1M rows'), ['socket', '≥85% of raw', 'tcp, 1M rows', '117%', '134%', 'met']);
});

test('the stamp names the machine, the load and every version', (t) => {
  const md = renderReport(collected())['RESULTS.md']!;
  t.deepEqual(tableRow(md, 'CPU'), ['CPU', 'Test CPU 9000, 2 cores']);
  t.deepEqual(tableRow(md, 'memory'), ['memory', '8.0 GiB, 6.0 GiB free at the start']);
  t.deepEqual(tableRow(md, 'load average (1 / 5 / 15 min)'), ['load average (1 / 5 / 15 min)', '0.50 / 0.40 / 0.30 at the start, 1.25 / 0.50 / 0.25 at the end']);
  t.deepEqual(tableRow(md, 'OS'), ['OS', 'Test OS 1 (Linux 6.0, x64)']);
  t.deepEqual(tableRow(md, 'Node'), ['Node', 'v20.0.0 (V8 11.3)']);
  t.deepEqual(tableRow(md, 'apache-arrow'), ['apache-arrow', '21.2.0']);
  t.deepEqual(tableRow(md, 'pyarrow'), ['pyarrow', '25.0.1 (Python 3.11.7)']);
  t.deepEqual(tableRow(md, 'Quiver'), ['Quiver', 'commit abcdef1234']);
  t.deepEqual(tableRow(md, 'date'), ['date', '2026-11-21 16:25:50 UTC, 5 min 12 s in all']);
  t.false(md.includes('busy with other work'), 'load below the core count: no warning');
  t.false(md.includes('smoke run'));
});

test('a loaded machine, a quick run and a failed bench are said so', (t) => {
  const c = collected();
  c.machine.loadEnd = [7.5, 5, 4];
  c.quick = true;
  c.runs[1] = { ...c.runs[1]!, ok: false, error: 'exited with code 1: pyarrow peer died\nearlier line' };
  delete c.socket;
  const md = renderReport(c)['RESULTS.md']!;
  t.true(md.includes('load average up to 7.5 on 2 cores'));
  t.true(md.includes('with --quick: a smoke run'));
  t.true(md.includes('**Failed:** socket (exited with code 1: pyarrow peer died)'));
  t.deepEqual(tableRow(md, 'socket').slice(2), ['2 min 30 s', 'FAILED'], 'its line in the runs table');
  t.is(tableRows(md, 'unix: Quiver / apache-arrow, both over the socket').length, 0);
  t.is(tableRows(md, 'shm / unix socket (both Quiver)').length, 1);
});

test('a bench without pyarrow (NaN ratios, null in JSON) renders dashes, never NaN or null', (t) => {
  const c = collected();
  const s = c.socket!;
  s.throughput = s.throughput.filter((x) => x.impl !== 'pyarrow').map((x) => ({ ...x, vsPyarrow: null }));
  s.targets = s.targets.filter((x) => !x.target.includes('pyarrow'));
  c.shm!.throughput[0]!.vsSocket = null;
  const files = renderReport(c);
  t.is(tableRows(files['RESULTS.md']!, 'unix: Quiver / pyarrow → pyarrow').length, 0);
  t.is(tableRow(files['RESULTS.md']!, 'shm / unix socket (both Quiver)')[1], '-');
  for (const [name, text] of Object.entries(files)) {
    if (name === 'results.json') continue;
    t.false(/NaN|null|undefined/.test(text), name);
  }
  const socket = seriesOf(parseSvg(files['throughput-socket.svg']!));
  t.false(socket.some((x) => x.name.includes('pyarrow')));
});

test('results.json is the collected run, whole', (t) => {
  const c = collected();
  t.deepEqual(JSON.parse(renderReport(c)['results.json']!) as Collected, c);
});

test('the charts are well-formed SVG with one series per transport and baseline, a point per batch size', (t) => {
  const charts = renderCharts(collected());
  t.deepEqual(Object.keys(charts).sort(), ['codec.svg', 'latency.svg', 'throughput-shm.svg', 'throughput-socket.svg']);
  for (const svg of Object.values(charts)) {
    const doc = parseSvg(svg);
    t.is(doc.documentElement!.tagName, 'svg');
    t.is(doc.documentElement!.getAttribute('xmlns'), 'http://www.w3.org/2000/svg');
    t.truthy(doc.getElementsByTagName('title')[0]?.textContent);
    t.is(doc.getElementsByTagName('rect')[0]!.getAttribute('fill'), '#ffffff', 'a light background for GitHub');
  }
  const socket = seriesOf(parseSvg(charts['throughput-socket.svg']!));
  t.deepEqual(
    socket.map((s) => s.name),
    ['Quiver, unix', 'Quiver, tcp', 'raw bytes, unix (ceiling)', 'raw bytes, tcp (ceiling)', 'apache-arrow, unix', 'apache-arrow, tcp', 'pyarrow → pyarrow, unix'],
  );
  t.true(socket.every((s) => s.points === 3 && s.lines === 1));
  const shm = seriesOf(parseSvg(charts['throughput-shm.svg']!));
  t.deepEqual(
    shm.map((s) => s.name),
    ['Quiver shm: (processes)', 'Quiver worker: (threads)', 'Quiver unix socket', 'postMessage (transfer)', 'memcpy (ceiling)'],
    'loan is left out',
  );
  t.true(shm.every((s) => s.points === 3));
  const codec = seriesOf(parseSvg(charts['codec.svg']!));
  t.is(codec.length, 6);
  t.true(codec.every((s) => s.points === 3));
  const latency = seriesOf(parseSvg(charts['latency.svg']!));
  t.deepEqual(latency.map((s) => s.name), ['p50', 'p90', 'p99']);
  t.true(latency.every((s) => s.points === 6), 'unix and tcp, raw and Quiver, then shm and its unix socket');
  // Axes say what they measure, with units.
  t.true(charts['throughput-socket.svg']!.includes('>throughput (log scale)<'));
  t.true(charts['throughput-socket.svg']!.includes('>1 GB/s<'));
  t.true(charts['latency.svg']!.includes('>100 µs<'));
  t.true(charts['codec.svg']!.includes('>64K<'));
});

test('a bench that did not run has no chart; with no bench at all the report still renders', (t) => {
  const c = collected();
  delete c.socket;
  delete c.shm;
  t.deepEqual(Object.keys(renderCharts(c)), ['codec.svg']);
  delete c.codec;
  c.runs = [];
  const files = renderReport(c);
  t.deepEqual(Object.keys(files), ['RESULTS.md', 'results.json']);
  t.true(files['RESULTS.md']!.includes('0 of 0 met.'));
});

test('lineChart: log ticks by decade, values that a log axis cannot show left out, names escaped', (t) => {
  const svg = lineChart({
    title: 'A <chart> & "more"',
    xLabel: 'x',
    yLabel: 'y',
    series: [
      { name: 'a<b>&c', color: '#000', points: [[1, 5], [10, 50], [100, NaN], [1000, 0]] },
      { name: 'single', color: '#111', dashed: true, marker: 'diamond', points: [[10, 2000]] },
    ],
  });
  const doc = parseSvg(svg);
  const series = seriesOf(doc);
  t.deepEqual(series, [
    { name: 'a<b>&c', points: 2, lines: 1 },
    { name: 'single', points: 1, lines: 0 },
  ]);
  t.is(doc.getElementsByTagName('title')[0]!.textContent, 'A <chart> & "more"');
  // y spans 5..2000: decades 1..10K, each labelled.
  for (const label of ['1', '10', '100', '1K', '10K']) t.true(svg.includes(`>${label}</text>`), label);
});

test('logTicks: decades, with 2 and 5 labelled too over two decades or less', (t) => {
  const wide = logTicks(1, 1e4);
  t.deepEqual(wide.major.map((x) => x.label), ['1', '10', '100', '1K', '10K']);
  t.is(wide.minor.length, 4 * 8);
  const narrow = logTicks(10, 1000);
  t.deepEqual(narrow.major.map((x) => x.label), ['10', '20', '50', '100', '200', '500', '1K']);
});

test('barChart: a bar per group and series, left out where there is no value', (t) => {
  const doc = parseSvg(barChart({ title: 't', yLabel: 'y', groups: ['a\nb', 'c'], bars: [{ name: 'p50', color: '#123', values: [10, NaN] }, { name: 'p99', color: '#456', values: [100, 1000] }] }));
  t.deepEqual(seriesOf(doc), [
    { name: 'p50', points: 1, lines: 0 },
    { name: 'p99', points: 2, lines: 0 },
  ]);
  t.is(escapeXml(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;');
});
