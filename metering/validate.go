package metering

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf16"

	"github.com/meterd/meterd"
)

// Constraints of the AWS API model. The patterns are compiled once and never
// changed.
var (
	productCodePattern = regexp.MustCompile(`^[-a-zA-Z0-9/=:_.@]*$`)
	accountIDPattern   = regexp.MustCompile(`^[0-9]+$`)
	// licenseArnPattern is the model's pattern with the last part's
	// {0,1023} (beyond RE2's repeat limit of 1000) checked by licenseArn.
	// It is compiled when first used: its bounded repeats take about a
	// third of a millisecond, which every meterd command would pay at start.
	licenseArnPattern = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^arn:aws[a-zA-Z-]*:[A-Za-z0-9][A-Za-z0-9_/.-]{0,62}:[A-Za-z0-9_/.-]{0,63}:[A-Za-z0-9_/.-]{0,63}:([A-Za-z0-9][A-Za-z0-9:_/+=,@.-]*)$`)
	})
	// tagPattern keeps the model's range ' -=' (space to '='), which admits
	// more than the guide's list of characters (README, Differences from AWS).
	tagPattern = regexp.MustCompile(`^[a-zA-Z0-9+ -=._:\/@]+$`)
)

// Limits of the AWS API model and of usage allocations.
const (
	maxString          = 255
	maxInt32           = 2147483647
	maxUsageRecords    = 25
	maxAllocations     = 2500
	maxTagsPerAlloc    = 5
	maxDistinctTagKeys = 5
	maxTagKey          = 100
	maxTagValue        = 256
	maxClientToken     = 64
)

// pattern is a string constraint as the model writes it.
type pattern interface {
	MatchString(s string) bool
	String() string
}

// licenseArn matches the model's LicenseArn pattern.
type licenseArn struct{}

// MatchString reports whether s is a well-formed LicenseArn.
func (licenseArn) MatchString(s string) bool {
	m := licenseArnPattern().FindStringSubmatch(s)
	return m != nil && len(m[1]) <= 1024
}

// String returns the pattern of the model.
func (licenseArn) String() string {
	return `^arn:aws[a-zA-Z-]*:[A-Za-z0-9][A-Za-z0-9_/.-]{0,62}:[A-Za-z0-9_/.-]{0,63}:[A-Za-z0-9_/.-]{0,63}:[A-Za-z0-9][A-Za-z0-9:_/+=,@.-]{0,1023}$`
}

// violations collects model-constraint violations in the order they are
// found, to report them all in one Coral-style ValidationException. At
// most maxListed are written out; the others are only counted, so that a
// 1 MiB body of 350,000 empty records cannot make a 75 MB answer.
type violations struct {
	listed []string
	n      int
}

// maxListed is how many violations a ValidationException names.
const maxListed = 100

// add records that value at path failed constraint. A nil value prints as
// Coral's unquoted null.
func (v *violations) add(path string, value any, constraint string) {
	v.n++
	if len(v.listed) == maxListed {
		return
	}
	val := "null"
	if value != nil {
		val = fmt.Sprintf("'%v'", value)
	}
	v.listed = append(v.listed, fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: %s", val, path, constraint))
}

// err returns the ValidationException for the violations, or nil.
func (v *violations) err() error {
	switch v.n {
	case 0:
		return nil
	case 1:
		return meterd.Errorf(meterd.EValidation, "1 validation error detected: %s", v.listed[0])
	}
	msg := strings.Join(v.listed, "; ")
	if more := v.n - len(v.listed); more > 0 {
		msg += fmt.Sprintf("; and %d more", more)
	}
	return meterd.Errorf(meterd.EValidation, "%d validation errors detected: %s", v.n, msg)
}

// length is a string's length as the service counts it: UTF-16 code units.
func length(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// str checks a string member. An empty string stands for an absent member
// (SDKs omit unset members, and "" is treated as absent): it is
// "must not be null" when required and fine otherwise.
func (v *violations) str(path, s string, required bool, minLen, maxLen int, pattern pattern) {
	if s == "" {
		if required {
			v.add(path, nil, "Member must not be null")
		}
		return
	}
	if n := length(s); n < minLen {
		v.add(path, s, fmt.Sprintf("Member must have length greater than or equal to %d", minLen))
	} else if maxLen > 0 && n > maxLen {
		v.add(path, s, fmt.Sprintf("Member must have length less than or equal to %d", maxLen))
	}
	if pattern != nil && !pattern.MatchString(s) {
		v.add(path, s, "Member must satisfy regular expression pattern: "+pattern.String())
	}
}

// num checks an integer member against the range min..max.
func (v *violations) num(path string, n *int64, required bool, minVal, maxVal int64) {
	if n == nil {
		if required {
			v.add(path, nil, "Member must not be null")
		}
		return
	}
	if *n < minVal {
		v.add(path, *n, "Member must have value greater than or equal to "+strconv.FormatInt(minVal, 10))
	} else if *n > maxVal {
		v.add(path, *n, "Member must have value less than or equal to "+strconv.FormatInt(maxVal, 10))
	}
}

// allocations checks the model shape of a UsageAllocations list; tag and
// count problems are left to checkAllocations, which has its own exceptions.
func (v *violations) allocations(path string, allocs []meterd.UsageAllocation) {
	for i, a := range allocs {
		v.num(fmt.Sprintf("%s.%d.member.allocatedUsageQuantity", path, i+1), a.AllocatedUsageQuantity, true, 0, maxInt32)
	}
}

// validateBatchMeterUsage checks the model constraints of a BatchMeterUsage
// request: ValidationException, then InvalidTagException and
// InvalidUsageAllocationsException (the first step of the check order).
func validateBatchMeterUsage(in *meterd.BatchMeterUsageInput) error {
	var v violations
	v.str("productCode", in.ProductCode, false, 0, maxString, productCodePattern)
	switch {
	case in.UsageRecords == nil:
		v.add("usageRecords", nil, "Member must not be null")
	case len(in.UsageRecords) > maxUsageRecords:
		v.add("usageRecords", fmt.Sprintf("[%d records]", len(in.UsageRecords)),
			fmt.Sprintf("Member must have length less than or equal to %d", maxUsageRecords))
	}
	for i, r := range in.UsageRecords {
		p := fmt.Sprintf("usageRecords.%d.member.", i+1)
		if r.Timestamp == nil {
			v.add(p+"timestamp", nil, "Member must not be null")
		}
		v.str(p+"customerIdentifier", r.CustomerIdentifier, false, 0, maxString, nil)
		v.str(p+"customerAWSAccountId", r.CustomerAWSAccountID, false, 1, maxString, accountIDPattern)
		v.str(p+"licenseArn", r.LicenseArn, false, 0, 0, licenseArn{})
		v.str(p+"dimension", r.Dimension, true, 1, maxString, nil)
		v.num(p+"quantity", r.Quantity, false, 0, maxInt32)
		v.allocations(p+"usageAllocations", r.UsageAllocations)
	}
	if err := v.err(); err != nil {
		return err
	}
	for i, r := range in.UsageRecords {
		if err := checkAllocations(fmt.Sprintf("usageRecords.%d.member.usageAllocations", i+1), r.Quantity, r.UsageAllocations); err != nil {
			return err
		}
	}
	return nil
}

// validateMeterUsage checks the model constraints of a MeterUsage request.
func validateMeterUsage(in *meterd.MeterUsageInput) error {
	var v violations
	v.str("productCode", in.ProductCode, true, 1, maxString, productCodePattern)
	if in.Timestamp == nil {
		v.add("timestamp", nil, "Member must not be null")
	}
	v.str("usageDimension", in.UsageDimension, true, 1, maxString, nil)
	v.num("usageQuantity", in.UsageQuantity, false, 0, maxInt32)
	v.allocations("usageAllocations", in.UsageAllocations)
	v.str("clientToken", in.ClientToken, false, 1, maxClientToken, nil)
	if err := v.err(); err != nil {
		return err
	}
	return checkAllocations("usageAllocations", in.UsageQuantity, in.UsageAllocations)
}

// validateRegisterUsage checks the model constraints of a RegisterUsage
// request.
func validateRegisterUsage(in *meterd.RegisterUsageInput) error {
	var v violations
	v.str("productCode", in.ProductCode, true, 1, maxString, productCodePattern)
	v.num("publicKeyVersion", in.PublicKeyVersion, true, 1, maxInt32)
	v.str("nonce", in.Nonce, false, 0, maxString, nil)
	return v.err()
}

// validateResolveCustomer checks the model constraints of a ResolveCustomer
// request.
func validateResolveCustomer(in *meterd.ResolveCustomerInput) error {
	var v violations
	v.str("registrationToken", in.RegistrationToken, true, 1, 0, nil)
	return v.err()
}

// checkAllocations applies the tag rules (InvalidTagException) and then the
// allocation rules (InvalidUsageAllocationsException) of allocations to the
// allocations of a record whose quantity is quantity (absent counts as 0).
// A nil list means the member was absent and is always fine.
func checkAllocations(path string, quantity *int64, allocs []meterd.UsageAllocation) error {
	if allocs == nil {
		return nil
	}
	if err := checkTags(path, allocs); err != nil {
		return err
	}
	if len(allocs) == 0 {
		return meterd.Errorf(meterd.EInvalidUsageAllocations, "%s must contain at least 1 allocation.", path)
	}
	if len(allocs) > maxAllocations {
		return meterd.Errorf(meterd.EInvalidUsageAllocations,
			"%s has %d allocations; at most %d are allowed.", path, len(allocs), maxAllocations)
	}
	var want, sum int64
	if quantity != nil {
		want = *quantity
	}
	seen := make(map[string]int, len(allocs))
	for i, a := range allocs {
		if a.AllocatedUsageQuantity != nil {
			sum += *a.AllocatedUsageQuantity
		}
		key := tagSetKey(a.Tags)
		if j, ok := seen[key]; ok {
			return meterd.Errorf(meterd.EInvalidUsageAllocations,
				"%s.%d and %s.%d have the same tag set; allocations with the same tags must be merged.", path, j+1, path, i+1)
		}
		seen[key] = i
	}
	if sum != want {
		return meterd.Errorf(meterd.EInvalidUsageAllocations,
			"The allocated quantities in %s sum to %d, which differs from the usage quantity %d.", path, sum, want)
	}
	return nil
}

// checkTags applies the tag rules: 1..5 tags per allocation, keys 1..100
// and values 1..256 characters of the tag pattern, no key twice in one
// allocation, and at most 5 distinct keys across the list.
func checkTags(path string, allocs []meterd.UsageAllocation) error {
	keys := make(map[string]bool)
	for i, a := range allocs {
		p := fmt.Sprintf("%s.%d.member.tags", path, i+1)
		if a.Tags == nil {
			continue
		}
		if len(a.Tags) == 0 || len(a.Tags) > maxTagsPerAlloc {
			return meterd.Errorf(meterd.EInvalidTag,
				"%s has %d tags; an allocation must have 1 to %d tags, or none at all for untagged usage.", p, len(a.Tags), maxTagsPerAlloc)
		}
		own := make(map[string]bool, len(a.Tags))
		for j, t := range a.Tags {
			tp := fmt.Sprintf("%s.%d.member", p, j+1)
			if err := checkTagString(tp+".key", t.Key, maxTagKey); err != nil {
				return err
			}
			if err := checkTagString(tp+".value", t.Value, maxTagValue); err != nil {
				return err
			}
			if own[t.Key] {
				return meterd.Errorf(meterd.EInvalidTag, "Tag key '%s' appears more than once in %s.", t.Key, p)
			}
			own[t.Key] = true
			keys[t.Key] = true
		}
	}
	if len(keys) > maxDistinctTagKeys {
		return meterd.Errorf(meterd.EInvalidTag,
			"%s uses %d distinct tag keys; at most %d are allowed across the allocation list.", path, len(keys), maxDistinctTagKeys)
	}
	return nil
}

// checkTagString checks a tag key or value.
func checkTagString(path, s string, maxLen int) error {
	if n := length(s); n < 1 || n > maxLen {
		return meterd.Errorf(meterd.EInvalidTag, "Tag '%s' at %s must have 1 to %d characters.", s, path, maxLen)
	}
	if !tagPattern.MatchString(s) {
		return meterd.Errorf(meterd.EInvalidTag,
			"Tag '%s' at %s must satisfy regular expression pattern: %s", s, path, tagPattern.String())
	}
	return nil
}

// tagSetKey returns a key equal for equal tag sets whatever their order;
// the untagged bucket has the empty key.
func tagSetKey(tags []meterd.Tag) string {
	sorted := slices.Clone(tags)
	slices.SortFunc(sorted, func(a, b meterd.Tag) int { return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.Value, b.Value)) })
	var b strings.Builder
	for _, t := range sorted {
		// Lengths prefix each part so that no two tag sets share a key.
		fmt.Fprintf(&b, "%d:%s%d:%s", len(t.Key), t.Key, len(t.Value), t.Value)
	}
	return b.String()
}
