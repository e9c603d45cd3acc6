package schemaversion

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	known := []int64{1, 2, 3, 10, 70}
	tests := []struct {
		name    string
		applied []int64
		want    string // "" for no error
	}{
		{"Empty", nil, ""},
		{"Older", []int64{0, 1, 2}, ""},
		{"Same", []int64{0, 1, 2, 3, 10, 70}, ""},
		{"Above", []int64{0, 1, 2, 3, 10, 70, 75}, "schema version 0075; this one knows up to 0070 and lacks migration 0075"},
		{"Gap", []int64{1, 2, 3, 10, 61, 70}, "schema version 0070; this one knows up to 0070 and lacks migration 0061"},
		{"Several", []int64{1, 76, 61, 70}, "lacks migration 0061, 0076"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.applied, known)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Check(%v) = %v, want nil", tt.applied, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "newer meterd") {
				t.Fatalf("Check(%v) = %v, want an error saying %q", tt.applied, err, tt.want)
			}
		})
	}
}
