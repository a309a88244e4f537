// The `npm test` reporter for node --test: quiet while tests pass, everything
// needed when one fails.
//
//   passing        a dot per top-level test, nothing else
//   a failure      an X at once; at the end, each failure with its file, the
//                  names of the test and its parents, and the error (message,
//                  diff, stack), then what that file printed (stdout/stderr)
//   the end        node's own summary lines (ℹ tests … ℹ duration_ms) and
//                  "N passed, N failed", the line CI reads
//
// What passing files print (logs of the functions a rehearsal starts, and
// so on) is dropped: it is only worth reading next to a failure.
//
// Plain JavaScript (node loads reporters before any loader such as tsx).

import { inspect } from 'node:util';

const COLUMNS = 80;
/** Lines of a failing file's output shown (the last ones: closest to the failure). */
const OUTPUT_LINES = 300;

export default async function* quietReporter(source) {
  const names = new Map(); // file → names of the tests started, by nesting
  const output = new Map(); // file → what it printed
  const failures = [];
  const failedFiles = new Set();
  const summary = [];
  let column = 0;
  let passed = 0;
  let failed = 0;

  const mark = (c) => {
    column = (column + 1) % COLUMNS;
    return column === 0 ? `${c}\n` : c;
  };

  for await (const { type, data } of source) {
    const file = data?.file ?? '(no file)';
    switch (type) {
      case 'test:start': {
        const stack = names.get(file) ?? [];
        stack.length = data.nesting;
        stack.push(data.name);
        names.set(file, stack);
        break;
      }
      case 'test:pass':
        if (data.nesting === 0) yield mark('.');
        if (data.details?.type !== 'suite') passed++;
        break;
      case 'test:fail': {
        const stack = names.get(file) ?? [];
        const path = [...stack.slice(0, data.nesting), data.name];
        const error = data.details?.error;
        // a suite or parent test fails because a subtest did: the subtest's own report says why
        if (error?.failureType !== 'subtestsFailed') {
          failures.push({ file, path, error });
          failed++;
        }
        failedFiles.add(file);
        if (data.nesting === 0) yield mark('X');
        break;
      }
      case 'test:stdout':
      case 'test:stderr': {
        const lines = output.get(file) ?? [];
        lines.push(data.message);
        output.set(file, lines);
        break;
      }
      case 'test:diagnostic':
        if (data.nesting === 0) summary.push(data.message);
        break;
      default:
        break;
    }
  }
  if (column !== 0) yield '\n';

  for (const [i, f] of failures.entries()) {
    yield `\n✖ ${i + 1}/${failures.length} ${f.file}\n  ${f.path.join(' › ')}\n`;
    yield indent(describe(f.error)) + '\n';
  }
  for (const file of failedFiles) {
    const text = (output.get(file) ?? []).join('');
    if (!text.trim()) continue;
    const lines = text.replace(/\n$/, '').split('\n');
    const shown = lines.slice(-OUTPUT_LINES);
    yield `\n--- output of ${file}${shown.length < lines.length ? ` (its last ${shown.length} of ${lines.length} lines)` : ''}\n${shown.join('\n')}\n--- end of output of ${file}\n`;
  }

  yield '\n';
  for (const line of summary) yield `ℹ ${line}\n`;
  // node's own counts when it gave them (they count a parent whose subtest failed as failed too);
  // a cancelled test (timed out, or cut short by its file ending) counts as failed here
  const count = (what, own) => Number(summary.map((l) => new RegExp(`^${what} (\\d+)$`).exec(l)?.[1]).find((n) => n !== undefined) ?? own);
  yield `${count('pass', passed)} passed, ${count('fail', failed) + count('cancelled', 0)} failed\n`;
}

/** The original error behind node's wrapper (ERR_TEST_FAILURE carries it as `cause`). */
function describe(error) {
  if (error === undefined) return '(no error recorded)';
  const show = (e) => inspect(e, { depth: 6, colors: false, breakLength: 120 });
  const original = error?.code === 'ERR_TEST_FAILURE' && error.cause !== undefined ? error.cause : error;
  let text = show(original);
  // an error that did not survive the trip from the test process (it shows as {}): node's own wrapper says more
  if (original !== error && /^\{\s*\}$/.test(text)) text = `${show(error)}\n(the error itself arrived empty: ${text})`;
  const kind = error?.failureType && error.failureType !== 'testCodeFailure' ? `(${error.failureType}) ` : '';
  return kind + text;
}

function indent(text) {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
