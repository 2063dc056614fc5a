import { conformance } from './conformance.js';
import { tcpSubject } from './helpers/subjects.js';

conformance(tcpSubject);
