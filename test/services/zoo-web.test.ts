// Web services under pre-fork servers (gunicorn, uWSGI) and a busy one that keeps nothing.
import { zooCase } from './zoo.js';

for (const name of ['flask_memo_cache', 'uwsgi_leak', 'gc_disabled_worker', 'busy_no_leak'] as const) zooCase(name);
