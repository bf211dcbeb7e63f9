import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { JobState, QueueDepth } from './jobs/types.ts';

/** Upper bounds (seconds) of the job duration histogram. */
export const DURATION_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

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
    metric('veil_requests_refused_total', 'counter', 'Requests answered with an error, by error code.',
      [...this.refusals].sort().map(([c, n]) => `veil_requests_refused_total{code="${c}"} ${n}`));
    const hist: string[] = DURATION_BUCKETS.map((b, i) => `veil_job_duration_seconds_bucket{le="${b}"} ${this.buckets[i]}`);
    hist.push(`veil_job_duration_seconds_bucket{le="+Inf"} ${this.durationCount}`);
    hist.push(`veil_job_duration_seconds_sum ${round(this.durationSum)}`, `veil_job_duration_seconds_count ${this.durationCount}`);
    metric('veil_job_duration_seconds', 'histogram', 'Time from a job\'s start to its completion.', hist);
    // As prom-client's nodejs_eventloop_lag_max_seconds: the maximum since the previous scrape, then reset.
    metric('veil_eventloop_lag_max_seconds', 'gauge', 'Longest event-loop delay of the API thread since the previous scrape.', [`veil_eventloop_lag_max_seconds ${round(Math.max(0, this.loop.max / 1e9 - 0.01))}`]);
    this.loop.reset();
    return out.join('\n') + '\n';
  }
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
