import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { JobState, QueueDepth } from './jobs/types.ts';

/** Upper bounds (seconds) of the job duration histogram. */
export const DURATION_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
/** Upper bounds (seconds) of the HTTP request duration histogram (prom-client's default buckets). */
export const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const HTTP_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Requests of one (method, route) pair: counts by status and a duration histogram. */
interface RouteStats {
  byStatus: Map<number, number>;
  buckets: number[];
  sum: number;
  count: number;
}

/**
 * Counters the process accumulates for Prometheus; gauges (jobs by state, queue depth) are read at scrape time.
 * Counters start at zero with the process, as Prometheus expects of a restart.
 */
export class Metrics {
  flowsProcessed = 0;
  flowsClassified = 0;
  classifyRequests = 0;
  classifyRows = 0;
  readonly finished: Record<'done' | 'failed' | 'cancelled', number> = { done: 0, failed: 0, cancelled: 0 };
  private readonly buckets = new Array<number>(DURATION_BUCKETS.length).fill(0);
  private durationSum = 0;
  private durationCount = 0;
  /** The API thread's event-loop delay (10 ms resolution): how long a request may have waited on the thread. */
  private readonly loop: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });

  constructor() {
    this.loop.enable();
  }

  close(): void {
    this.loop.disable();
  }

  /** A job reached a final state. */
  jobFinished(state: 'done' | 'failed' | 'cancelled', durationSeconds: number | null, rows: number, models: number): void {
    this.finished[state]++;
    if (state === 'done') {
      this.flowsProcessed += rows;
      if (models > 0) this.flowsClassified += rows;
    }
    if (durationSeconds !== null && Number.isFinite(durationSeconds) && state === 'done') {
      this.durationSum += durationSeconds;
      this.durationCount++;
      for (let i = 0; i < DURATION_BUCKETS.length; i++) if (durationSeconds <= DURATION_BUCKETS[i]!) this.buckets[i]!++;
    }
  }

  private readonly refusals = new Map<string, number>();
  /** Keyed by `${method} ${route}`: the route's template (`/api/v1/jobs/:id`), never the raw URL, so the label set
   * stays bounded by the routes; requests no route matched count under '(unmatched)'. */
  private readonly http = new Map<string, RouteStats>();

  /** An HTTP request was answered. */
  httpRequest(method: string, route: string | undefined, status: number, seconds: number): void {
    const key = `${HTTP_METHODS.has(method) ? method : 'OTHER'} ${route ?? '(unmatched)'}`;
    let s = this.http.get(key);
    if (!s) {
      s = { byStatus: new Map(), buckets: new Array<number>(HTTP_BUCKETS.length).fill(0), sum: 0, count: 0 };
      this.http.set(key, s);
    }
    s.byStatus.set(status, (s.byStatus.get(status) ?? 0) + 1);
    if (Number.isFinite(seconds) && seconds >= 0) {
      s.sum += seconds;
      s.count++;
      for (let i = 0; i < HTTP_BUCKETS.length; i++) if (seconds <= HTTP_BUCKETS[i]!) s.buckets[i]!++;
    }
  }

  /** A request answered with a 4xx error code. */
  refused(code: string): void {
    this.refusals.set(code, (this.refusals.get(code) ?? 0) + 1);
  }

  classified(rows: number): void {
    this.classifyRequests++;
    this.classifyRows += rows;
    this.flowsClassified += rows;
  }

  /** The Prometheus text exposition (format 0.0.4). */
  render(jobs: Record<JobState, number>, depth: QueueDepth, backend: string): string {
    const out: string[] = [];
    const metric = (name: string, type: string, help: string, lines: string[]): void => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines);
    };
    metric('veil_jobs', 'gauge', 'Jobs in the registry by state.',
      (Object.keys(jobs) as JobState[]).map((s) => `veil_jobs{state="${s}"} ${jobs[s]}`));
    metric('veil_queue_depth', 'gauge', 'Jobs in the queue by queue state.',
      (['waiting', 'active', 'delayed'] as const).map((s) => `veil_queue_depth{backend="${backend}",state="${s}"} ${depth[s]}`));
    metric('veil_jobs_finished_total', 'counter', 'Jobs that reached a final state since the server started.',
      (Object.keys(this.finished) as (keyof Metrics['finished'])[]).map((s) => `veil_jobs_finished_total{state="${s}"} ${this.finished[s]}`));
    metric('veil_flows_processed_total', 'counter', 'Flow rows written by finished jobs.', [`veil_flows_processed_total ${this.flowsProcessed}`]);
    metric('veil_flows_classified_total', 'counter', 'Flow rows given to at least one model (jobs and POST /classify).', [`veil_flows_classified_total ${this.flowsClassified}`]);
    metric('veil_classify_requests_total', 'counter', 'POST /classify requests answered.', [`veil_classify_requests_total ${this.classifyRequests}`]);
    metric('veil_classify_rows_total', 'counter', 'Rows classified by POST /classify.', [`veil_classify_rows_total ${this.classifyRows}`]);
    const routes = [...this.http].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => {
      const i = k.indexOf(' ');
      return { labels: `method="${k.slice(0, i)}",route="${escapeLabel(k.slice(i + 1))}"`, s: v };
    });
    metric('veil_http_requests_total', 'counter', 'HTTP requests answered, by method, route template and status.',
      routes.flatMap(({ labels, s }) => [...s.byStatus].sort((a, b) => a[0] - b[0]).map(([st, n]) => `veil_http_requests_total{${labels},status="${st}"} ${n}`)));
    metric('veil_http_request_duration_seconds', 'histogram', 'Time from a request\'s arrival to its response, by method and route template.',
      routes.flatMap(({ labels, s }) => [
        ...HTTP_BUCKETS.map((b, i) => `veil_http_request_duration_seconds_bucket{${labels},le="${b}"} ${s.buckets[i]}`),
        `veil_http_request_duration_seconds_bucket{${labels},le="+Inf"} ${s.count}`,
        `veil_http_request_duration_seconds_sum{${labels}} ${round(s.sum)}`,
        `veil_http_request_duration_seconds_count{${labels}} ${s.count}`,
      ]));
    metric('veil_requests_refused_total', 'counter', 'Requests answered with an error, by error code.',
      [...this.refusals].sort().map(([c, n]) => `veil_requests_refused_total{code="${c}"} ${n}`));
    const hist: string[] = DURATION_BUCKETS.map((b, i) => `veil_job_duration_seconds_bucket{le="${b}"} ${this.buckets[i]}`);
    hist.push(`veil_job_duration_seconds_bucket{le="+Inf"} ${this.durationCount}`);
    hist.push(`veil_job_duration_seconds_sum ${round(this.durationSum)}`, `veil_job_duration_seconds_count ${this.durationCount}`);
    metric('veil_job_duration_seconds', 'histogram', 'Time from a job\'s start to its completion.', hist);
    // As prom-client's nodejs_eventloop_lag_max_seconds: the maximum since the previous scrape, then reset.
    metric('veil_eventloop_lag_max_seconds', 'gauge', 'Longest event-loop delay of the API thread since the previous scrape.', [`veil_eventloop_lag_max_seconds ${round(Math.max(0, this.loop.max / 1e9 - 0.01))}`]);
    this.processMetrics(metric);
    this.loop.reset();
    return out.join('\n') + '\n';
  }

  /** The process's own figures, named as prom-client's default metrics name them (so existing dashboards apply). */
  private processMetrics(metric: (name: string, type: string, help: string, lines: string[]) => void): void {
    const cpu = process.cpuUsage();
    const mem = process.memoryUsage();
    metric('process_cpu_user_seconds_total', 'counter', 'User CPU time spent by the process (all its threads), in seconds.', [`process_cpu_user_seconds_total ${round(cpu.user / 1e6)}`]);
    metric('process_cpu_system_seconds_total', 'counter', 'System CPU time spent by the process (all its threads), in seconds.', [`process_cpu_system_seconds_total ${round(cpu.system / 1e6)}`]);
    metric('process_cpu_seconds_total', 'counter', 'User and system CPU time spent by the process, in seconds.', [`process_cpu_seconds_total ${round((cpu.user + cpu.system) / 1e6)}`]);
    metric('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes.', [`process_resident_memory_bytes ${mem.rss}`]);
    metric('process_start_time_seconds', 'gauge', 'Start time of the process since the epoch, in seconds.', [`process_start_time_seconds ${Math.round(START_S)}`]);
    metric('nodejs_heap_size_total_bytes', 'gauge', 'V8 heap size of the API thread, in bytes.', [`nodejs_heap_size_total_bytes ${mem.heapTotal}`]);
    metric('nodejs_heap_size_used_bytes', 'gauge', 'V8 heap used by the API thread, in bytes.', [`nodejs_heap_size_used_bytes ${mem.heapUsed}`]);
    metric('nodejs_external_memory_bytes', 'gauge', 'Memory of C++ objects bound to JavaScript objects (buffers included), in bytes.', [`nodejs_external_memory_bytes ${mem.external}`]);
    // The histogram's 10 ms resolution timer adds its own period to every sample, as in the max above.
    const s = (ns: number): number => round(Number.isFinite(ns) ? Math.max(0, ns / 1e9 - 0.01) : 0);
    const h = this.loop;
    metric('nodejs_eventloop_lag_mean_seconds', 'gauge', 'Mean event-loop delay of the API thread since the previous scrape.', [`nodejs_eventloop_lag_mean_seconds ${s(h.mean)}`]);
    metric('nodejs_eventloop_lag_p99_seconds', 'gauge', '99th percentile of the API thread\'s event-loop delay since the previous scrape.', [`nodejs_eventloop_lag_p99_seconds ${s(h.percentile(99))}`]);
  }
}

const START_S = Date.now() / 1000 - process.uptime();

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
