"""ECR layer blobs, as far as an image's config is concerned.

moto takes layer uploads (InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload) but
keeps only their sizes, has no GetDownloadUrlForLayer, and its PutImage takes a manifest
whose blobs were never uploaded; ECR refuses that (LayersNotFoundException, and
ReferencedImagesNotFoundException for an index naming absent manifests), and so does this. Here the bytes of each completed
upload are kept on the repository, and GetDownloadUrlForLayer hands out a URL to them the way
ECR hands out a presigned S3 URL: it is not an AWS API call (no signature, no IAM), it
expires, and it serves exactly the uploaded bytes. A layer that was never uploaded is
LayersNotFoundException, as in ECR.

AWS documents neither the URL's lifetime nor a size limit for this call; the URL here is
valid for URL_SECONDS of simulated time (5 real seconds at the default scale), shorter than
any presigned URL we have seen ECR return, so a client must fetch at once (the less
forgiving reading).
"""
import json
import secrets

from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult
from moto.ecr.models import ECRBackend
from moto.ecr.responses import ECRResponse

from .core import sim

URL_SECONDS = 300.0


class LayersNotFoundException(ServiceException):
    code = "LayersNotFoundException"


class ReferencedImagesNotFoundException(ServiceException):
    code = "ReferencedImagesNotFoundException"


def _missing(repo, manifest: str) -> tuple[str, list[str]]:
    """What a manifest names that the repository lacks: ("layers", [...]) for an image's
    config and layers, ("images", [...]) for an index's manifests."""
    try:
        m = json.loads(manifest)
    except ValueError:
        return "", []
    if isinstance(m.get("manifests"), list):
        have = {i.get_image_digest() for i in repo.images}
        return "images", [e.get("digest") for e in m["manifests"] if e.get("digest") not in have]
    blobs = ([m["config"]] if isinstance(m.get("config"), dict) else []) + list(m.get("layers") or [])
    return "layers", [b.get("digest") for b in blobs if b.get("digest") not in repo.layers]


def install() -> None:
    original_complete = ECRBackend.complete_layer_upload

    def complete_layer_upload(self, repository_name, upload_id, layer_digests, registry_id=None):
        repo = self._get_repository(repository_name, registry_id)
        upload = repo.uploads.get(upload_id)
        data = bytes(upload.layer_parts) if upload is not None else None
        out = original_complete(self, repository_name, upload_id, layer_digests, registry_id)
        if data is not None:
            if not hasattr(repo, "sim_blobs"):
                repo.sim_blobs = {}
            repo.sim_blobs[out["layerDigest"]] = data
        return out

    def get_download_url_for_layer(self):
        name = self._get_param("repositoryName")
        registry_id = self._get_param("registryId")
        digest = self._get_param("layerDigest")
        repo = self.ecr_backend._get_repository(name, registry_id)
        data = getattr(repo, "sim_blobs", {}).get(digest)
        if data is None:
            raise LayersNotFoundException(
                f"The layer with digest '{digest}' does not exist in the repository with name "
                f"'{name}' in the registry with id '{repo.registry_id}'")
        token = secrets.token_urlsafe(24)
        sim.blob_urls[token] = (data, sim.now + URL_SECONDS)
        host = self.headers.get("Host") or "localhost"
        return ActionResult({
            "downloadUrl": f"http://{host}/_blobs/{token}?X-Amz-Expires={int(URL_SECONDS)}",
            "layerDigest": digest,
        })

    original_put = ECRBackend.put_image

    def put_image(self, repository_name, image_manifest, image_tag, *args, **kwargs):
        repo = self._get_repository(repository_name, kwargs.get("registry_id"))
        kind, missing = _missing(repo, image_manifest)
        if missing and kind == "layers":
            raise LayersNotFoundException(
                f"Layers {missing} not found in the repository with name '{repository_name}'")
        if missing:
            raise ReferencedImagesNotFoundException(
                f"Manifests {missing} referenced by the index are not in the repository with name "
                f"'{repository_name}'")
        return original_put(self, repository_name, image_manifest, image_tag, *args, **kwargs)

    ECRBackend.complete_layer_upload = complete_layer_upload
    ECRBackend.put_image = put_image
    ECRResponse.get_download_url_for_layer = get_download_url_for_layer


def serve(environ, start_response):
    """GET /_blobs/<token>: the bytes, or S3's 403 once the URL has expired."""
    token = environ.get("PATH_INFO", "").rsplit("/", 1)[-1]
    with sim.lock:
        found = sim.blob_urls.get(token)
        expired = found is not None and sim.now > found[1]
    if environ["REQUEST_METHOD"] != "GET" or found is None or expired:
        body = (b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code>"
                b"<Message>Request has expired</Message></Error>" if expired else
                b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code>"
                b"<Message>Access Denied</Message></Error>")
        start_response("403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
        return [body]
    data = found[0]
    start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(data)))])
    return [data]
