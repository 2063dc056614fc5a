import { conformance } from './conformance.js';
import { unixSubject } from './helpers/subjects.js';

conformance(unixSubject);
