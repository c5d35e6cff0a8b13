"""Stateful GitHub REST fake behind `prism proxy` (GitHub's OpenAPI description). See README.md."""
