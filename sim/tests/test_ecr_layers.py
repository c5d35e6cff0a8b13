"""ECR's blobs: PutImage needs them uploaded first, GetDownloadUrlForLayer hands out a
short-lived URL to exactly their bytes."""
import hashlib
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from aws_sim import server, sim  # noqa: F401 (fixtures)

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from sim.images import push_image, upload_blob  # noqa: E402


def manifest(config: str, layers: list[str]) -> str:
    return json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                       "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2,
                                  "digest": config},
                       "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 2,
                                   "digest": d} for d in layers]})


def test_put_image_refuses_a_manifest_whose_blobs_were_never_uploaded(sim):
    ecr = sim.client("ecr", retries=1)
    ecr.create_repository(repositoryName="blobs")
    absent = "sha256:" + "ab" * 32
    with pytest.raises(ClientError) as e:
        ecr.put_image(repositoryName="blobs", imageTag="x", imageManifest=manifest(absent, []))
    assert e.value.response["Error"]["Code"] == "LayersNotFoundException"
    config = upload_blob(ecr, "blobs", b"{}")
    with pytest.raises(ClientError) as e:
        ecr.put_image(repositoryName="blobs", imageTag="x", imageManifest=manifest(config, [absent]))
    assert e.value.response["Error"]["Code"] == "LayersNotFoundException"
    ecr.put_image(repositoryName="blobs", imageTag="x", imageManifest=manifest(config, []))
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": [{"digest": "sha256:" + "cd" * 32, "size": 2,
                                       "platform": {"os": "linux", "architecture": "amd64"}}]})
    with pytest.raises(ClientError) as e:
        ecr.put_image(repositoryName="blobs", imageTag="multi", imageManifest=index)
    assert e.value.response["Error"]["Code"] == "ReferencedImagesNotFoundException"


def test_a_download_url_serves_the_uploaded_bytes_and_expires(sim):
    ecr = sim.client("ecr", retries=1)
    ecr.create_repository(repositoryName="blobs")
    digest = push_image(ecr, "blobs", "v1", {"org.opencontainers.image.revision": "a" * 40})
    got = ecr.batch_get_image(repositoryName="blobs", imageIds=[{"imageDigest": digest}])
    config = json.loads(got["images"][0]["imageManifest"])["config"]["digest"]
    url = ecr.get_download_url_for_layer(repositoryName="blobs", layerDigest=config)["downloadUrl"]
    with urllib.request.urlopen(url) as r:
        data = r.read()
    assert "sha256:" + hashlib.sha256(data).hexdigest() == config
    assert json.loads(data)["config"]["Labels"]["org.opencontainers.image.revision"] == "a" * 40
    time.sleep(6)  # 300 simulated seconds at the default scale
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(url)
    assert e.value.code == 403
    with pytest.raises(ClientError) as e:
        ecr.get_download_url_for_layer(repositoryName="blobs", layerDigest="sha256:" + "ef" * 32)
    assert e.value.response["Error"]["Code"] == "LayersNotFoundException"
