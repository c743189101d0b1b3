// Package compose holds the tests of benchrig's deployment: the top-level
// docker-compose.yml and Dockerfile, checked with Debian's docker-compose
// and run on the Docker test lab against the test Elasticsearch. It has no
// code of its own; the tests live here, not in cmd/benchrig, because they
// test files beside the code rather than the CLI, and a package of their
// own runs (and is timed) apart from cmd/benchrig's long test run.
package compose
