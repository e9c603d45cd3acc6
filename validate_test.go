package meterd_test

import (
	"strings"
	"testing"

	"github.com/meterd/meterd"
)

func TestValidProductCode(t *testing.T) {
	for code, want := range map[string]bool{
		"demo-product":              true,
		"a/b=c:d_e.f@g-0":           true,
		strings.Repeat("p", 255):    true,
		strings.Repeat("p", 256):    false,
		"":                          false,
		"has space":                 false,
		"prodé":                     false, // letters are ASCII only
		"semi;colon":                false,
		"8ye3b5xj6abd1wxz5kxhqv1zb": true,
	} {
		if got := meterd.ValidProductCode(code); got != want {
			t.Errorf("ValidProductCode(%q) = %v, want %v", code, got, want)
		}
	}
}

func TestValidAccountID(t *testing.T) {
	for id, want := range map[string]bool{
		"111122223333":  true,
		"000000000000":  true,
		"11112222333":   false,
		"1111222233334": false,
		"11112222333a":  false,
		"":              false,
		"١١١١٢٢٢٢٣٣٣٣":  false, // Arabic-Indic digits
	} {
		if got := meterd.ValidAccountID(id); got != want {
			t.Errorf("ValidAccountID(%q) = %v, want %v", id, got, want)
		}
	}
}
