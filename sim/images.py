"""Pushing a (tiny) image to ECR the way docker does: the blobs first (InitiateLayerUpload,
UploadLayerPart, CompleteLayerUpload), then the manifest (PutImage), which ECR refuses while
a blob it names is missing. Used by the demo and the benchmarks; the Rust tests have their
own copy of these steps in tests/support (through the Rust SDK)."""
import hashlib
import json


def upload_blob(ecr, repo: str, data: bytes) -> str:
    upload = ecr.initiate_layer_upload(repositoryName=repo)["uploadId"]
    ecr.upload_layer_part(repositoryName=repo, uploadId=upload, partFirstByte=0,
                          partLastByte=len(data) - 1, layerPartBlob=data)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    return ecr.complete_layer_upload(repositoryName=repo, uploadId=upload, layerDigests=[digest])["layerDigest"]


def push_image(ecr, repo: str, tag: str, labels: dict | None = None) -> str:
    """Pushes `repo:tag` (a config with `labels` and one layer unique to it); returns its digest."""
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Labels": labels or {}},
                         "rootfs": {"type": "layers", "diff_ids": []}, "created": f"{repo}:{tag}"}).encode()
    layer = f"{repo}:{tag}:layer".encode()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": len(config),
                   "digest": upload_blob(ecr, repo, config)},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": len(layer),
                    "digest": upload_blob(ecr, repo, layer)}],
    }
    out = ecr.put_image(repositoryName=repo, imageTag=tag, imageManifest=json.dumps(manifest))
    return out["image"]["imageId"]["imageDigest"]
