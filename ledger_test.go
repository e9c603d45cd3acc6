package meterd_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/meterd/meterd"
)

func TestUsageSeqRanges(t *testing.T) {
	const end = math.MaxInt64
	tests := []struct {
		name                     string
		after, first, last, mark int64
		want                     []meterd.SeqRange
	}{
		{"WindowAndTail", 0, 10, 20, 30, []meterd.SeqRange{{9, 20}, {30, end}}},
		{"CursorInWindow", 15, 10, 20, 30, []meterd.SeqRange{{15, 20}, {30, end}}},
		{"CursorPastWindow", 25, 10, 20, 30, []meterd.SeqRange{{30, end}}},
		{"CursorInTail", 40, 10, 20, 30, []meterd.SeqRange{{40, end}}},
		{"CursorAtWindowEnd", 20, 10, 20, 30, []meterd.SeqRange{{30, end}}},
		{"NothingRolled", 0, 1, 0, 30, []meterd.SeqRange{{30, end}}},
		{"OneRecord", 0, 7, 7, 30, []meterd.SeqRange{{6, 7}, {30, end}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := meterd.UsageSeqRanges(meterd.UsageFilter{AfterSeq: tt.after}, tt.first, tt.last, tt.mark)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("UsageSeqRanges(after %d, %d to %d, watermark %d) = %v, want %v", tt.after, tt.first, tt.last, tt.mark, got, tt.want)
			}
		})
	}
}
