// Compiled by tsc (tsconfig.fixtures.json) with TypeScript's standard decorators, then imported by
// test/shared/wrappers.test.ts: vitest's transform does not lower decorators.
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { countExceptions, time, trackInProgress } from "prom-threads";

export function build() {
  const registry = new Registry();
  const seconds = new Histogram({ name: "deco_seconds", help: "h", buckets: [1], registers: [registry] });
  const errors = new Counter({ name: "deco_errors_total", help: "h", registers: [registry] });
  const inProgress = new Gauge({ name: "deco_in_progress", help: "h", registers: [registry] });
  let now = 0;
  const clock = () => now++;

  class Service {
    calls = 0;

    @time(seconds, { clock })
    double(x: number): number {
      this.calls++;
      return x * 2;
    }

    @time(seconds, { clock })
    async later(value: string): Promise<string> {
      this.calls++;
      await new Promise((r) => setTimeout(r, 1));
      return value;
    }

    @countExceptions(errors)
    fail(): never {
      this.calls++;
      throw new Error("decorated failure");
    }

    @trackInProgress(inProgress)
    async track(): Promise<void> {
      this.calls++;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  return { service: new Service(), registry };
}
