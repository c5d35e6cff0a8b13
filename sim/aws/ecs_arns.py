"""ECS service ARNs keep the format they were created with.

A service created while the account's `serviceLongArnFormat` setting was disabled has the
old short ARN (`service/NAME`, no cluster) for good; opting in later changes new services
only (ECS Developer Guide, "Amazon Resource Names (ARNs) and IDs": "the ARN format of a
resource is determined by the account setting in effect when it was created"). moto instead
computes every ARN from the setting of the moment, so this pins each service's format when it
is created. ECS refuses to tag a short-ARN resource ("Long arn format must be used for
tagging operations"; ECS Developer Guide, "Tagging your resources": "the new ARN format must
be used" for tagging); the simulator refuses ListTagsForResource on one too (the less
forgiving reading: AWS does not document it).
"""
import re

from moto.ecs.models import Service

SHORT_SERVICE_ARN = re.compile(r"^arn:[^:]+:ecs:[^:]+:[0-9]+:service/[^/]+$")
_orig_arn = Service.arn


def _arn(self) -> str:
    if "sim_long_arn" not in self.__dict__:
        self.sim_long_arn = self._backend.enable_long_arn_for_name(name="serviceLongArnFormat")
    if self.sim_long_arn:
        return f"arn:aws:ecs:{self.region_name}:{self._account_id}:service/{self.cluster_name}/{self.name}"
    return f"arn:aws:ecs:{self.region_name}:{self._account_id}:service/{self.name}"


def refuses_tags(params: dict) -> bool:
    return bool(SHORT_SERVICE_ARN.match(params.get("resourceArn", "")))


def install() -> None:
    Service.arn = property(_arn)
