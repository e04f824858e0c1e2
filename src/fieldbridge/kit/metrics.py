"""Prometheus metrics shared by the whole process."""

from prometheus_client import Counter, Histogram

HTTP_REQUESTS = Counter(
    "fieldbridge_http_requests_total", "HTTP requests served", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram("fieldbridge_http_request_seconds", "HTTP request latency", ["method", "route"])
HOT_PATH = Counter(
    "fieldbridge_hot_path_total",
    "Calls a hot-path handler answered itself, or declined to its route (kit/hotpath.py)",
    ["call", "outcome"],
)
