/** Request counters in the Prometheus text format, for `/metrics`. */

export class RequestMetrics {
  private readonly counts = new Map<string, number>();
  private readonly durations = new Map<string, { sum: number; count: number }>();

  record(verb: string, resource: string, code: number, seconds: number): void {
    const key = `verb="${verb}",resource="${resource}",code="${code}"`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    const durationKey = `verb="${verb}",resource="${resource}"`;
    const duration = this.durations.get(durationKey) ?? { sum: 0, count: 0 };
    this.durations.set(durationKey, { sum: duration.sum + seconds, count: duration.count + 1 });
  }

  render(): string {
    const lines = ['# HELP apiserver_request_total Requests by verb, resource and HTTP code.', '# TYPE apiserver_request_total counter'];
    for (const [labels, count] of this.counts) lines.push(`apiserver_request_total{${labels}} ${count}`);
    lines.push('# HELP apiserver_request_duration_seconds Time to the response headers.', '# TYPE apiserver_request_duration_seconds summary');
    for (const [labels, { sum, count }] of this.durations) {
      lines.push(`apiserver_request_duration_seconds_sum{${labels}} ${sum}`, `apiserver_request_duration_seconds_count{${labels}} ${count}`);
    }
    return `${lines.join('\n')}\n`;
  }
}
