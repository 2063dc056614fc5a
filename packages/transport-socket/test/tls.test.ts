import { conformance } from './conformance.js';
import { tlsSubject } from './helpers/subjects.js';

conformance(tlsSubject);
