package meterd

import "testing"

func TestValidRegion(t *testing.T) {
	for _, tt := range []struct {
		region string
		want   bool
	}{
		{"us-east-1", true}, {"us-gov-west-1", true}, {"eusc-de-east-1", true}, {"us-isob-east-1", true},
		{"ap-southeast-7", true}, {"us-east-9", true}, // syntax only
		{"", false}, {"US-EAST-1", false}, {"us_east_1", false}, {"local", false}, {"us-east-1x", false},
		{"us-east-", false}, {"a-b-1", false}, {"us-east-123", false}, {"us-east-1 ", false}, {"xx-a-b-c-1", false},
	} {
		if got := ValidRegion(tt.region); got != tt.want {
			t.Errorf("ValidRegion(%q) = %v, want %v", tt.region, got, tt.want)
		}
	}
	for region := range knownRegions {
		if !ValidRegion(region) {
			t.Errorf("known region %q is not ValidRegion", region)
		}
	}
	if KnownRegion("us-east-9") || !KnownRegion("eu-west-1") {
		t.Errorf("KnownRegion(us-east-9), KnownRegion(eu-west-1) = %v, %v, want false, true", KnownRegion("us-east-9"), KnownRegion("eu-west-1"))
	}
}
