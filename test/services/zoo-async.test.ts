// Services whose leak lives in an event loop, greenlets, the logging tree or threads.
import { zooCase } from './zoo.js';

for (const name of ['asyncio_pending_tasks', 'gevent_leak', 'logging_handler_per_request', 'executor_per_request'] as const) zooCase(name);
