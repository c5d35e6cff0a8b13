"""Local AWS simulator: moto in-process plus the behaviour moto lacks.

moto speaks the wire protocols; this package adds what happens *over time*:
ECS rollouts and the circuit breaker (ecs_rollouts), target health (elb_health),
ALB traffic metrics (metrics), alarm evaluation (alarms), fault injection
(faults) and a JSON control API under /_sim (control). server.py wires it all
into one WSGI app; core.py holds the shared state, the clock and the ticker.
See sim/aws/README.md.
"""
