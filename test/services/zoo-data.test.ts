// Services that hold data: ORM objects, numpy arrays, and glibc arenas left full of holes.
import { zooCase } from './zoo.js';

for (const name of ['sqlalchemy_pending', 'numpy_cache', 'arena_holes'] as const) zooCase(name);
