"""Fault injection: per operation, a rate, an optional count, and a kind.

kinds: throttle (400, protocol-correct Throttling error), 5xx (503
ServiceUnavailable), latency (latency_ms added, then served normally), drop
(connection closed without a response). The error body follows the request's
protocol: awsJson (X-Amz-Target header: ECS, ECR, CloudWatch from boto3) or
query XML (Action= form: ELBv2, CloudWatch from older SDKs).
"""
import json
import random
import uuid
from dataclasses import dataclass

from .core import sim

KINDS = ("throttle", "5xx", "latency", "drop")


@dataclass
class Fault:
    operation: str  # e.g. "DescribeServices", or "*" for all
    kind: str
    rate: float = 1.0
    count: int | None = None  # apply only this many times
    latency_ms: float = 0.0
    service: str | None = None  # optional SigV4 service name filter: ecs, elasticloadbalancing, monitoring, ...
    access_key: str | None = None  # optional: only calls signed with this access key (tests in parallel)

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")


def pick(service: str | None, operation: str | None, access_key: str | None = None) -> Fault | None:
    """The first matching fault that fires for this call (and use up one of its count)."""
    with sim.lock:
        for f in sim.faults:
            if f.operation not in ("*", operation) or (f.service and f.service != service):
                continue
            if f.access_key and f.access_key != access_key:
                continue
            if f.count is not None and f.count <= 0:
                continue
            if random.random() >= f.rate:
                continue
            if f.count is not None:
                f.count -= 1
            return f
    return None


def error_response(kind: str, json_protocol: bool, query_compatible: bool):
    """(status line, headers, body) of a throttle or 5xx error in the request's protocol."""
    if kind == "throttle":
        status, json_type, code, fault_type, message = "400 Bad Request", "ThrottlingException", "Throttling", "Sender", "Rate exceeded"
    else:
        status, json_type, code, fault_type, message = "503 Service Unavailable", "ServiceUnavailableException", "ServiceUnavailable", "Receiver", "Service Unavailable"
    request_id = str(uuid.uuid4())
    headers = [("x-amzn-RequestId", request_id)]
    if json_protocol:
        body = json.dumps({"__type": json_type, "message": message})
        headers.append(("Content-Type", "application/x-amz-json-1.1"))
        if query_compatible:  # awsQueryCompatible services (CloudWatch) carry the query error code here
            headers.append(("x-amzn-query-error", f"{code};{fault_type}"))
    else:
        body = (f"<ErrorResponse><Error><Type>{fault_type}</Type><Code>{code}</Code>"
                f"<Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>")
        headers.append(("Content-Type", "text/xml"))
    return status, headers, body.encode()
