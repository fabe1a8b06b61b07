"""The development stack: local servers for tests, benchmarks and the quickstart; never imported by
the runtime daemons."""
