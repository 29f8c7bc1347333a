/** How OpenTelemetry names, units and attribute keys become Prometheus names (until UTF-8 names land). */
import { describe, expect, it } from "vitest";
import { escapeName, labelName, metricName, unitSuffix } from "../../src/worker/otel-names.js";

describe("OpenTelemetry names in the hub", () => {
  it("escapes as OpenTelemetry's Prometheus exporter does", () => {
    expect(escapeName("http.server.request.duration")).toBe("http_server_request_duration");
    expect(escapeName("a-b..c/d")).toBe("a_b_c_d");
    expect(escapeName("2xx.count")).toBe("_2xx_count");
    expect(labelName("http.response.status_code")).toBe("http_response_status_code");
    expect(escapeName("plain_name")).toBe("plain_name");
  });

  it("adds the unit and the counter suffixes of the Prometheus compatibility specification", () => {
    expect(metricName("http.server.request.duration", "s", "histogram")).toBe("http_server_request_duration_seconds");
    expect(metricName("db.latency", "ms", "histogram")).toBe("db_latency_milliseconds");
    expect(metricName("io", "By/s", "gauge")).toBe("io_bytes_per_second");
    expect(metricName("http.server.requests", "{request}", "counter")).toBe("http_server_requests_total");
    expect(metricName("jobs_total", undefined, "counter")).toBe("jobs_total");
    expect(metricName("heap_bytes", "By", "gauge")).toBe("heap_bytes");
    expect(metricName("cpu.utilization", "1", "gauge")).toBe("cpu_utilization_ratio");
    expect(metricName("hits", "1", "counter")).toBe("hits_total");
    expect(metricName("odd", "furlong", "gauge")).toBe("odd_furlong");
    expect(unitSuffix("", "gauge")).toBe("");
  });
});
