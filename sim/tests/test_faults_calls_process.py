import http.client
import signal
import time
import urllib.parse

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError

from aws_sim import spawn, server, sim  # noqa: F401 (fixtures)


def code(fn):
    with pytest.raises(ClientError) as e:
        fn()
    return e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_throttle_count_per_protocol(sim):
    ecs, elb, cw = (sim.client(s, retries=1) for s in ("ecs", "elbv2", "cloudwatch"))
    sim.call("PUT", "/_sim/faults", [{"operation": "DescribeClusters", "kind": "throttle", "count": 2},
                                     {"operation": "DescribeLoadBalancers", "kind": "throttle", "count": 1},
                                     {"operation": "ListMetrics", "kind": "throttle", "count": 1}])
    assert code(lambda: ecs.describe_clusters(clusters=["x"])) == ("ThrottlingException", 400)
    assert code(lambda: ecs.describe_clusters(clusters=["x"])) == ("ThrottlingException", 400)
    ecs.describe_clusters(clusters=["x"])  # count used up
    assert code(elb.describe_load_balancers) == ("Throttling", 400)  # query protocol XML
    elb.describe_load_balancers()
    assert code(cw.list_metrics) == ("Throttling", 400)  # awsJson, query-compatible
    # raw bodies, as the Rust SDK sees them
    sim.call("PUT", "/_sim/faults", [{"operation": "*", "kind": "throttle"}])
    conn = http.client.HTTPConnection(urllib.parse.urlparse(sim.url).netloc)
    conn.request("POST", "/", body="Action=DescribeListeners&Version=2015-12-01", headers={
        "Content-Type": "application/x-www-form-urlencoded", "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDRAW/20240101/us-east-1/elasticloadbalancing/aws4_request"})
    body = conn.getresponse().read().decode()
    assert "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>" in body
    conn.request("POST", "/", body="{}", headers={"X-Amz-Target": "AmazonEC2ContainerServiceV20141113.ListClusters",
                                                  "Content-Type": "application/x-amz-json-1.1"})
    assert conn.getresponse().read() == b'{"__type": "ThrottlingException", "message": "Rate exceeded"}'
    calls = sim.call("GET", "/_sim/calls?access_key=AKIDRAW")
    assert [(c["operation"], c["status"]) for c in calls] == [("DescribeListeners", 400)]


def test_5xx_latency_drop(sim):
    ecs = sim.client("ecs", retries=1)
    sim.call("PUT", "/_sim/faults", [{"operation": "ListClusters", "kind": "5xx"},
                                     {"operation": "ListServices", "kind": "latency", "latency_ms": 400},
                                     {"operation": "DescribeClusters", "kind": "drop", "count": 1}])
    assert code(ecs.list_clusters) == ("ServiceUnavailableException", 503)
    ecs.create_cluster(clusterName="c1")
    start = time.time()
    ecs.list_services(cluster="c1")
    assert time.time() - start >= 0.4
    with pytest.raises(ConnectionClosedError):
        ecs.describe_clusters(clusters=["c1"])
    ecs.describe_clusters(clusters=["c1"])
    sim.call("DELETE", "/_sim/faults")
    ecs.list_clusters()
    statuses = [(c["operation"], c["status"], c["fault"]) for c in sim.call("GET", "/_sim/calls?access_key=AKIDTEST")]
    assert statuses == [("ListClusters", 503, "5xx"), ("CreateCluster", 200, None), ("ListServices", 200, "latency"),
                        ("DescribeClusters", 0, "drop"), ("DescribeClusters", 200, None), ("ListClusters", 200, None)]


def test_faults_scoped_to_an_access_key(sim):
    a, b = sim.client("ecs", access_key="AKIDSCOPEA", retries=1), sim.client("ecs", access_key="AKIDSCOPEB", retries=1)
    sim.call("PUT", "/_sim/faults?access_key=AKIDSCOPEA", [{"operation": "ListClusters", "kind": "5xx", "count": 1}])
    sim.call("PUT", "/_sim/faults?access_key=AKIDSCOPEB", [{"operation": "ListClusters", "kind": "throttle"}])
    assert [f["access_key"] for f in sim.call("GET", "/_sim/faults")] == ["AKIDSCOPEA", "AKIDSCOPEB"]
    assert code(a.list_clusters) == ("ServiceUnavailableException", 503)
    a.list_clusters()  # its count is used up; B's fault never touches A
    assert code(b.list_clusters) == ("ThrottlingException", 400)
    sim.call("PUT", "/_sim/faults?access_key=AKIDSCOPEA", [{"operation": "ListClusters", "kind": "throttle"}])
    assert len(sim.call("GET", "/_sim/faults?access_key=AKIDSCOPEB")) == 1  # replacing A's kept B's
    sim.call("DELETE", "/_sim/faults?access_key=AKIDSCOPEB")
    b.list_clusters()
    assert code(a.list_clusters) == ("ThrottlingException", 400)
    sim.call("DELETE", "/_sim/faults")


def test_calls_are_counted_per_access_key(sim):
    a, b = sim.client("ecs", access_key="AKIDAAAA"), sim.client("elbv2", access_key="AKIDBBBB")
    a.create_cluster(clusterName="c1")
    a.describe_clusters(clusters=["c1"])
    b.describe_target_groups()
    calls = sim.call("GET", "/_sim/calls?access_key=AKIDAAAA")
    assert [(c["service"], c["operation"], c["mutating"], c["status"]) for c in calls] == [
        ("ecs", "CreateCluster", True, 200), ("ecs", "DescribeClusters", False, 200)]
    assert calls[0]["access_key"] == "AKIDAAAA" and abs(calls[0]["at"] - time.time()) < 10
    assert [c["operation"] for c in sim.call("GET", "/_sim/calls?access_key=AKIDBBBB")] == ["DescribeTargetGroups"]
    sim.call("DELETE", "/_sim/calls")
    assert sim.call("GET", "/_sim/calls") == []
    assert sim.call("GET", "/_sim/health")["ok"] is True


def test_process_exits_on_stdin_eof_and_signals():
    proc, _ = spawn()
    proc.stdin.close()
    assert proc.wait(timeout=5) == 0
    for sig in (signal.SIGTERM, signal.SIGINT):
        proc, _ = spawn()
        proc.send_signal(sig)
        assert proc.wait(timeout=5) == 0
        proc.stdin.close()
