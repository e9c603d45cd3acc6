package admin

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestLimitMessages checks that a bad limit says what a good one is: a
// page's bound where there is one, and never "from 1 to 0" for a stream,
// which has none.
func TestLimitMessages(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct{ query, want string }{
		{"limit=0", `limit: "0" is not a whole number from 1 to 10000`},
		{"limit=ten", `limit: "ten" is not a whole number from 1 to 10000`},
		{"format=csv&limit=0", `limit: "0" is not a positive whole number`},
		{"format=jsonl&limit=-3", `limit: "-3" is not a positive whole number`},
	} {
		t.Run(tt.query, func(t *testing.T) {
			status, body := f.raw(t, "GET", "/admin/v1/usage?"+tt.query, "Bearer "+testToken, "")
			var e struct{ Error struct{ Message string } }
			json.Unmarshal([]byte(body), &e)
			if status != 400 || e.Error.Message != tt.want {
				t.Errorf("GET usage?%s = %d %s, want 400 with %q", tt.query, status, body, tt.want)
			}
		})
	}
}

// TestClockRange is the finding of issue 19 item 6: advancing the clock
// past year 9999 answered 200 with an error in the body, because the status
// was written before the state failed to encode. The clock now stays in
// the years a timestamp can be written in, and every answer is either a
// whole JSON body with 200 or an error with its status.
func TestClockRange(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct{ name, body string }{
		{"AdvancePast9999", `{"advance":"48h"}`},
		{"AdvanceBefore1970", `{"advance":"-2562047h"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if status, body := f.raw(t, "POST", "/admin/v1/clock", "Bearer "+testToken, `{"set":"9999-12-31T00:00:00Z"}`); status != 200 {
				t.Fatalf("set the clock to 9999-12-31 = %d %s, want 200", status, body)
			}
			if tt.name == "AdvanceBefore1970" {
				f.raw(t, "POST", "/admin/v1/clock", "Bearer "+testToken, `{"set":"1970-01-02T00:00:00Z"}`)
			}
			status, body := f.raw(t, "POST", "/admin/v1/clock", "Bearer "+testToken, tt.body)
			if status != 422 || !strings.Contains(body, "between 1970-01-01 and 9999-12-31") {
				t.Errorf("POST clock %s = %d %s, want 422 naming the range", tt.body, status, body)
			}
			status, body = f.raw(t, "GET", "/admin/v1/clock", "Bearer "+testToken, "")
			var state struct{ Now string }
			if status != 200 || json.Unmarshal([]byte(body), &state) != nil || state.Now == "" {
				t.Errorf("GET clock after the refused change = %d %s, want 200 and the clock's state", status, body)
			}
		})
	}
}
