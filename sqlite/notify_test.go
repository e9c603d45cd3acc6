package sqlite_test

import (
	"testing"

	"github.com/meterd/meterd/ledgertest"
)

func TestNotifyStore(t *testing.T) {
	ledgertest.RunNotify(t, func(t *testing.T) ledgertest.NotifyStore { return open(t) })
}
