"""Parameter Store as the deploy lock uses it: versions numbered by the store, a create-only
write refused on an existing name, reads of other callers' writes that may lag, and the
shipped policy's lock path (AWS API Reference: PutParameter, GetParameters)."""
import json

import pytest
from botocore.exceptions import ClientError

from aws_sim import ROOT, server, sim  # noqa: F401 (fixtures)

NAME = "/ecs-deploy-action/lock/c1/web"


def test_versions_are_numbered_by_the_store_and_create_only_is_refused_on_an_existing_name(sim):
    ssm = sim.client("ssm")
    assert ssm.put_parameter(Name=NAME, Value="a;after=0", Type="String", Overwrite=False)["Version"] == 1
    with pytest.raises(ClientError) as e:
        ssm.put_parameter(Name=NAME, Value="b;after=0", Type="String", Overwrite=False)
    assert e.value.response["Error"]["Code"] == "ParameterAlreadyExists"
    assert ssm.put_parameter(Name=NAME, Value="c;after=1", Type="String", Overwrite=True)["Version"] == 2
    got = ssm.get_parameters(Names=[NAME, f"{NAME}:1", f"{NAME}:9"])
    assert sorted((p["Version"], p["Value"]) for p in got["Parameters"]) == [(1, "a;after=0"), (2, "c;after=1")]
    assert got["InvalidParameters"] == [f"{NAME}:9"]


def test_another_caller_reads_a_write_only_after_the_visibility_delay(sim):
    sim.call("PUT", "/_sim/config", {"time_scale": 60, "parameter_visibility_seconds": 30})  # half a real second
    writer, reader = sim.client("ssm", access_key="AKIDWRITER"), sim.client("ssm", access_key="AKIDREADER")
    writer.put_parameter(Name=NAME, Value="v1", Type="String")
    sim.wait(lambda: reader.get_parameters(Names=[NAME])["Parameters"], timeout=3, what="version 1")
    writer.put_parameter(Name=NAME, Value="v2", Type="String", Overwrite=True)

    def seen(client, names):
        got = client.get_parameters(Names=names)
        return sorted(p["Value"] for p in got["Parameters"]), got["InvalidParameters"]
    assert seen(writer, [NAME]) == (["v2"], [])  # read-your-writes
    assert seen(reader, [NAME]) == (["v1"], [])  # the version before, for anyone else
    assert seen(reader, [f"{NAME}:2"]) == ([], [f"{NAME}:2"])
    # Writes are not stale: the reader's create-only write is refused, its overwrite numbered 3.
    with pytest.raises(ClientError):
        reader.put_parameter(Name=NAME, Value="r", Type="String", Overwrite=False)
    assert reader.put_parameter(Name=NAME, Value="r", Type="String", Overwrite=True)["Version"] == 3
    sim.wait(lambda: seen(reader, [NAME]) == (["r"], []) and seen(writer, [NAME]) == (["r"], []),
             timeout=3, what="every write to become visible")


def test_the_shipped_policy_allows_the_lock_path_of_the_cluster_only(sim):
    sim.client("ecs").create_cluster(clusterName="c1")
    template = (ROOT / "iam-policy.json").read_text()
    sim.call("PUT", "/_sim/iam", {"access_key": "AKIDLOCK", "template": template})
    ssm = sim.client("ssm", access_key="AKIDLOCK", retries=1)
    ssm.put_parameter(Name=NAME, Value="free;after=0", Type="String", Overwrite=False)
    assert ssm.get_parameters(Names=[NAME, f"{NAME}:1"])["Parameters"]
    for name in ("/ecs-deploy-action/lock/other-cluster/web", "/app/secret"):
        with pytest.raises(ClientError) as e:
            ssm.get_parameters(Names=[name])
        assert e.value.response["Error"]["Code"] == "AccessDeniedException", json.dumps(e.value.response)
        with pytest.raises(ClientError):
            ssm.put_parameter(Name=name, Value="x", Type="String")
