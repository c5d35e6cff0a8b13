"""CloudWatch's Smithy RPCv2 CBOR protocol, as current SDKs speak it."""
import datetime
import http.client
import urllib.parse

import cbor2

from aws_sim import server, sim  # noqa: F401 (fixtures)

AUTH = "AWS4-HMAC-SHA256 Credential=AKIDCBOR/20260101/us-east-1/monitoring/aws4_request, SignedHeaders=host, Signature=0"


def call(sim, operation, members):
    conn = http.client.HTTPConnection(urllib.parse.urlparse(sim.url).netloc)
    conn.request("POST", f"/service/GraniteServiceVersion20100801/operation/{operation}",
                 body=cbor2.dumps(members, datetime_as_timestamp=True),
                 headers={"smithy-protocol": "rpc-v2-cbor", "Content-Type": "application/cbor",
                          "Accept": "application/cbor", "Authorization": AUTH})
    r = conn.getresponse()
    body = r.read()
    assert r.getheader("smithy-protocol") == "rpc-v2-cbor" and r.getheader("Content-Type") == "application/cbor"
    return r.status, cbor2.loads(body), r


def test_get_metric_data_in_cbor_with_tag_1_timestamps(sim):
    cw = sim.client("cloudwatch")
    now = datetime.datetime.now(datetime.timezone.utc).replace(second=0, microsecond=0)
    cw.put_metric_data(Namespace="App", MetricData=[{"MetricName": "Hits", "Value": 3, "Timestamp": now}])
    query = {
        "MetricDataQueries": [{"Id": "h", "MetricStat": {"Metric": {"Namespace": "App", "MetricName": "Hits"},
                                                          "Period": 60, "Stat": "Sum"}}],
        "StartTime": now - datetime.timedelta(minutes=5), "EndTime": now + datetime.timedelta(minutes=1)}
    # A custom datapoint is readable once CloudWatch publishes it (cw_clock: late, by minute).
    status, answer, _ = sim.wait(lambda: (r := call(sim, "GetMetricData", query))[1]["MetricDataResults"][0]["Values"]
                                 and r, what="the datapoint published")
    assert status == 200, answer
    result = answer["MetricDataResults"][0]
    assert result["Values"] == [3.0] and isinstance(result["Values"][0], float)
    assert result["Timestamps"] == [now]  # decoded from CBOR tag 1


def test_errors_are_cbor_maps_with_their_type(sim):
    status, answer, r = call(sim, "GetMetricData", {
        "MetricDataQueries": [{"Id": "h", "MetricStat": {"Metric": {"Namespace": "AWS/ApplicationELB",
                                                                    "MetricName": "RequestCount"},
                                                          "Period": 30, "Stat": "Sum"}}],
        "StartTime": datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc),
        "EndTime": datetime.datetime(2026, 1, 1, 0, 5, tzinfo=datetime.timezone.utc)})
    assert status == 400 and "InvalidParameterValue" in answer["__type"], answer
    sim.call("PUT", "/_sim/faults", [{"operation": "DescribeAlarms", "kind": "throttle", "count": 1}])
    status, answer, r = call(sim, "DescribeAlarms", {"AlarmNames": ["a"]})
    assert (status, answer["__type"]) == (400, "ThrottlingException")
    assert r.getheader("x-amzn-query-error") == "Throttling;Sender"
    calls = sim.call("GET", "/_sim/calls?access_key=AKIDCBOR")
    assert [c["operation"] for c in calls] == ["GetMetricData", "DescribeAlarms"]
