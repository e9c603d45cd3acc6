// Package conformance proves wire compatibility: its tests start the meterd
// binary and run the same scenarios with every AWS client users run (the Go
// SDK, boto3 and the AWS CLI, old and new, and the JS SDK v3), check the
// README's snippets, and keep the README's compatibility table in sync with
// the results.
package conformance
