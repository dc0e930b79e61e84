/** What `GET /health` reports: that the function runs, on which stage, since when. */
export interface HealthReport {
  status: 'ok';
  service: string;
  stage: string;
  time: string;
  coldStartAt: string;
}

export function healthReport(input: {
  service: string;
  stage: string;
  now: Date;
  coldStartAt: Date;
}): HealthReport {
  return {
    status: 'ok',
    service: input.service,
    stage: input.stage,
    time: input.now.toISOString(),
    coldStartAt: input.coldStartAt.toISOString(),
  };
}
