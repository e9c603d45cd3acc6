package postgres_test

import (
	"testing"

	"github.com/meterd/meterd"
	"github.com/meterd/meterd/ledgertest"
)

func TestQueueStore(t *testing.T) {
	ledgertest.RunQueues(t, func(t *testing.T) meterd.QueueStore { return open(t, cluster.NewDatabase(t)) })
}
