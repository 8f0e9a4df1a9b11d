import { describe, expect, it } from 'vitest';
import { parseCsv, tabularExamplesFromCsv, tabularSchemaFromCsv } from './tabular-csv.js';

const CSV = 'height,weight,kind\n1,10,cat\n3,10,dog\n2,10,cat\n2,10,dog\n';

describe('tabular CSV', () => {
  it('parses quoted fields with commas, quotes and CRLF line ends, skipping blank lines', () => {
    expect(parseCsv('a,b\r\n"x, ""y""",2\r\n\r\n3,4')).toEqual([['a', 'b'], ['x, "y"', '2'], ['3', '4']]);
  });

  it('derives the schema: features, sorted labels, mean and population std (1 for a constant column)', () => {
    const data = tabularSchemaFromCsv(CSV);

    expect(data).toEqual({
      kind: 'tabular',
      inputShape: [2],
      numClasses: 2,
      labels: ['cat', 'dog'],
      features: { names: ['height', 'weight'], mean: [2, 10], std: [Math.sqrt(0.5), 1], labelColumn: 'kind' },
    });
  });

  it('takes a chosen label column', () => {
    const data = tabularSchemaFromCsv('kind,a\nx,1\ny,2\n', { labelColumn: 'kind' });
    expect(data.features).toMatchObject({ names: ['a'], labelColumn: 'kind' });
    expect(() => tabularSchemaFromCsv(CSV, { labelColumn: 'colour' })).toThrow(/no column "colour"/);
  });

  it('names the row and column of a non-number', () => {
    expect(() => tabularSchemaFromCsv('a,b\n1,x\nabc,y\n')).toThrow('CSV row 3, column "a": "abc" is not a number');
  });

  it('turns a participant CSV with reordered columns into standardized examples, skipping unknown labels', () => {
    const data = tabularSchemaFromCsv(CSV);

    const ex = tabularExamplesFromCsv('kind,weight,height\ndog,10,3\nbird,1,1\ncat,12,1\n', data);

    expect(ex.y).toEqual([1, 0]);
    expect(ex.x.map((r) => [...r])).toEqual([[Math.fround(1 / Math.sqrt(0.5)), 0], [Math.fround(-1 / Math.sqrt(0.5)), 2]]);
    expect(ex.skipped).toEqual([{ row: 3, reason: 'unknown label "bird"' }]);
    expect(() => tabularExamplesFromCsv('height,kind\n1,cat\n', data)).toThrow('CSV: missing column "weight"');
  });
});
