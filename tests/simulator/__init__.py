"""Pluto web-service simulator: a local stand-in for the site's Moodle 4.5 REST API, for tests and benchmarks."""
