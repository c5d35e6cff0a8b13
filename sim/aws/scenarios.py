"""Per-image behaviour ("scenarios"), keyed by a string matched against image names."""
from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Scenario:
    start_seconds: float = 10.0  # PROVISIONING -> RUNNING
    crash: bool = False  # the essential container exits after crash_after_seconds
    exit_code: int = 1
    crash_after_seconds: float = 2.0
    crash_reason: str = ""  # the containers' `reason` when they crash (free text in real ECS)
    unhealthy: bool = False  # ELB health checks fail after health_seconds
    health_seconds: float = 5.0  # initial -> healthy/unhealthy
    error_rate: float = 0.0  # share of requests answered 5xx by the target
    connection_error_rate: float = 0.0  # share the ALB cannot connect for (reset/refused): ELB 502s
    hang_rate: float = 0.0  # share the target never answers within the ALB's idle timeout: ELB 504s
    p99_ms: float = 50.0
    mean_ms: float = 20.0
    # A task RunTask started (ecs_run_task): how long its command runs and how it exits.
    task_seconds: float = 20.0
    task_exit_code: int = 0
    task_stop_reason: str = ""  # set: the task never starts (stopCode TaskFailedToStart, this reason)

    @classmethod
    def from_dict(cls, d: dict) -> "Scenario":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown scenario fields: {sorted(unknown)}")
        return cls(**d)


DEFAULT = Scenario()


def matches(image: str | None, key: str) -> bool:
    """A key matches `repo:tag`, `:tag`, `sha256:...` or the full image."""
    return bool(image) and (image == key or image.endswith(key))


def lookup(scenarios: dict[str, dict], image: str | None) -> Scenario:
    """The scenario of the longest matching key, else the healthy default."""
    keys = [k for k in scenarios if matches(image, k)]
    if not keys:
        return DEFAULT
    return Scenario.from_dict(scenarios[max(keys, key=len)])
