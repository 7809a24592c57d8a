/**
 * What the HTML report's page (src/report/diagnosisHtml.ts) and its viewer
 * (viewer.ts, bundled into the page) agree on. No Node or DOM here: both
 * sides import it.
 */
import type { Cause } from '../../analyze/diagnosis.js';

/** The id of the `<script type="application/json">` element that holds the Diagnosis. */
export const DATA_ELEMENT_ID = 'memwhy-data';

/** The id of the element the viewer renders into. */
export const ROOT_ELEMENT_ID = 'memwhy-report';

/** Each cause in plain words, as the badge and the title show it. */
export const CAUSE_LABEL: Record<Cause, string> = {
  'python-objects': 'Python objects',
  uncollectable: 'Uncollectable objects',
  'cyclic-garbage': 'Cyclic garbage',
  native: 'Native memory',
  'allocator-retention': 'Allocator retention',
  'thread-leak': 'Thread leak',
  unexplained: 'Unexplained growth',
  'no-growth': 'No growth',
};
