/**
 * What a scrape of `memwhy watch` says, as metric families: pure, from the
 * watcher's snapshot and the exporter's own figures to families the
 * exposition formatter writes. Every per-process series carries the same
 * identity labels, so an alert or a join with kube-state-metrics needs no
 * `group_left`; no label holds anything per object, so the series count is
 * a fixed number per process.
 */
import type { Labels, MetricFamily, MetricType, Sample } from '../report/exposition.js';
import type { ProcessIdentity, ProcessSnapshot, ReadErrorKind } from './watcher.js';

export interface ExporterFigures {
  cpuSeconds: number;
  residentBytes: number;
  lastSampleSeconds: number;
  readErrors: Readonly<Record<ReadErrorKind, number>>;
}

/** A diagnosis `watch` ran and kept (see diagnoseWhen.ts). */
export interface DiagnosisRecord {
  pid: number;
  exe: string;
  command: string;
  cause: string;
  /** Which rule started it: "growth" or "cgroup-share". */
  trigger: string;
  /** The report's directory name under --out, served at /reports/<name>/. */
  report: string;
  finishedAt: Date;
}

export function identityLabels(id: ProcessIdentity): Labels {
  return {
    pid: String(id.pid),
    exe: id.exe,
    command: id.command,
    python_version: id.pythonVersion,
    cgroup: id.cgroup.path,
    container_id: id.cgroup.containerId ?? '',
    pod_uid: id.cgroup.podUid ?? '',
  };
}

interface Builder {
  add(name: string, type: MetricType, help: string, labels: Labels, value: number | undefined): void;
  families(): MetricFamily[];
}

function builder(): Builder {
  const byName = new Map<string, { type: MetricType; help: string; samples: Sample[] }>();
  return {
    add(name, type, help, labels, value) {
      let f = byName.get(name);
      if (!f) {
        f = { type, help, samples: [] };
        byName.set(name, f);
      }
      if (value !== undefined && Number.isFinite(value)) f.samples.push({ labels, value });
    },
    families: () => [...byName].map(([name, f]) => ({ name, ...f })),
  };
}

export function watchMetrics(processes: readonly ProcessSnapshot[], self: ExporterFigures, diagnoses: readonly DiagnosisRecord[]): MetricFamily[] {
  const b = builder();
  for (const p of processes) {
    const id = identityLabels(p.identity);
    const f = p.figures;
    b.add('memwhy_process_resident_memory_bytes', 'gauge', 'Resident set size (VmRSS in /proc/PID/status).', id, f.rss);
    b.add('memwhy_process_anonymous_memory_bytes', 'gauge', 'Resident anonymous memory: heap, stacks, arenas (RssAnon).', id, f.anon);
    b.add('memwhy_process_swap_bytes', 'gauge', 'Memory swapped out (VmSwap).', id, f.swap);
    b.add('memwhy_process_pss_bytes', 'gauge', 'Proportional set size from smaps_rollup (read less often than RSS).', id, p.smaps?.pss);
    b.add('memwhy_process_uss_bytes', 'gauge', 'Unique set size from smaps_rollup: Private_Clean + Private_Dirty, what exiting would free.', id, p.smaps?.uss);
    b.add('memwhy_process_threads', 'gauge', 'Threads in the process.', id, f.threads);
    b.add('memwhy_process_open_fds', 'gauge', 'Open file descriptors.', id, f.openFds);
    b.add('memwhy_process_start_time_seconds', 'gauge', 'Start time of the process since the Unix epoch.', id, p.identity.startTime.getTime() / 1000);
    b.add('memwhy_process_resident_memory_growth_bytes_per_second', 'gauge', 'Least-squares slope of RSS over the watch window (absent until 3 readings).', id, p.growth?.bytesPerSecond);
    b.add('memwhy_process_resident_memory_growth_r2', 'gauge', 'r squared of the RSS slope: near 1 when RSS climbs steadily, near 0 when it wanders.', id, p.growth?.r2);
    b.add('memwhy_process_resident_memory_growth_window_seconds', 'gauge', 'Time the RSS slope is fitted over (shorter than the watch window for a young process).', id, p.growth?.windowS);
    b.add('memwhy_cgroup_memory_limit_bytes', 'gauge', "The process's cgroup memory limit (memory.max), when one is set: the OOM killer's limit.", id, p.cgroupMemory?.limit);
    b.add('memwhy_cgroup_memory_usage_bytes', 'gauge', "The process's cgroup memory usage (memory.current).", id, p.cgroupMemory?.current);
    b.add('memwhy_python_gc_figures', 'gauge', "1 when the collector's figures were read from the interpreter's memory at the last sample, else 0.", id, p.gc ? 1 : 0);
    if (p.gc) {
      const gc = p.gc;
      b.add('memwhy_python_gc_enabled', 'gauge', '1 when automatic collection is enabled (gc.isenabled()).', id, gc.enabled ? 1 : 0);
      b.add('memwhy_python_gc_garbage_objects', 'gauge', 'Objects in gc.garbage: found unreachable but not freed.', id, gc.garbage ?? undefined);
      gc.generations.forEach((g, i) => {
        const gl = { ...id, generation: String(i) };
        b.add(
          'memwhy_python_gc_count',
          'gauge',
          'gc.get_count(): objects allocated less freed since the last collection (generation 0), younger collections since the last (1, 2).',
          gl,
          g.count,
        );
        b.add('memwhy_python_gc_threshold', 'gauge', 'gc.get_threshold() for the generation.', gl, g.threshold);
        b.add('memwhy_python_gc_collections_total', 'counter', 'Collections of the generation (gc.get_stats()).', gl, g.collections);
        b.add('memwhy_python_gc_collected_objects_total', 'counter', 'Objects the collector freed in collections of the generation.', gl, g.collected);
        b.add('memwhy_python_gc_uncollectable_objects_total', 'counter', 'Objects found uncollectable in collections of the generation (put in gc.garbage).', gl, g.uncollectable);
      });
    }
    if (p.arenas) {
      const a = p.arenas;
      b.add('memwhy_python_pymalloc_arenas', 'gauge', 'pymalloc arenas allocated and not freed (sys._debugmallocstats()\'s "# arenas allocated current").', id, a.current);
      b.add(
        'memwhy_python_pymalloc_arena_bytes',
        'gauge',
        'Memory the allocated pymalloc arenas hold: arenas times the arena size (256 KiB to 3.9, 1 MiB from 3.10).',
        id,
        a.current * a.arenaSize,
      );
      b.add('memwhy_python_pymalloc_arenas_highwater', 'gauge', 'The most pymalloc arenas allocated at once since the process started.', id, a.highwater);
      b.add('memwhy_python_pymalloc_arenas_allocated_total', 'counter', 'pymalloc arenas ever allocated; its rate against memwhy_python_pymalloc_arenas shows arenas churning.', id, a.total);
    }
  }
  for (const d of diagnoses) {
    b.add(
      'memwhy_diagnosis_info',
      'info',
      'A diagnosis memwhy watch ran and kept; the report is served at /reports/<report>/.',
      { pid: String(d.pid), exe: d.exe, command: d.command, cause: d.cause, trigger: d.trigger, report: d.report },
      1,
    );
  }
  b.add('memwhy_watch_processes', 'gauge', 'Python processes watched.', {}, processes.length);
  b.add('memwhy_watch_sample_duration_seconds', 'gauge', 'How long the last sample of every process took.', {}, self.lastSampleSeconds);
  for (const [kind, n] of Object.entries(self.readErrors)) {
    b.add('memwhy_watch_read_errors_total', 'counter', 'Figures that could not be read (the process exited mid-read, no permission, interpreter not ready).', { figure: kind }, n);
  }
  b.add('memwhy_watch_cpu_seconds_total', 'counter', 'CPU time memwhy watch itself has used.', {}, self.cpuSeconds);
  b.add('memwhy_watch_resident_memory_bytes', 'gauge', "memwhy watch's own resident set size.", {}, self.residentBytes);
  return b.families();
}
