package meterd

import "regexp"

// regionSyntax is what an AWS region name looks like in every partition
// (botocore's regionRegex of each, generalised): a 2 to 4 letter prefix,
// one or two lowercase words and a number, such as us-east-1,
// us-gov-west-1 or eusc-de-east-1.
var regionSyntax = regexp.MustCompile(`^[a-z]{2,4}(-[a-z]+){1,2}-[0-9]{1,2}$`)

// ValidRegion reports whether s is syntactically an AWS region name. A
// region AWS opens later is valid before meterd knows it.
func ValidRegion(s string) bool { return regionSyntax.MatchString(s) }

// knownRegions are the regions of every AWS partition at the time of
// writing (botocore's endpoints.json).
var knownRegions = map[string]bool{
	"af-south-1": true, "ap-east-1": true, "ap-east-2": true, "ap-northeast-1": true, "ap-northeast-2": true,
	"ap-northeast-3": true, "ap-south-1": true, "ap-south-2": true, "ap-southeast-1": true, "ap-southeast-2": true,
	"ap-southeast-3": true, "ap-southeast-4": true, "ap-southeast-5": true, "ap-southeast-6": true, "ap-southeast-7": true,
	"ca-central-1": true, "ca-west-1": true, "eu-central-1": true, "eu-central-2": true, "eu-north-1": true,
	"eu-south-1": true, "eu-south-2": true, "eu-west-1": true, "eu-west-2": true, "eu-west-3": true,
	"il-central-1": true, "me-central-1": true, "me-south-1": true, "mx-central-1": true, "sa-east-1": true,
	"us-east-1": true, "us-east-2": true, "us-west-1": true, "us-west-2": true,
	"cn-north-1": true, "cn-northwest-1": true, "us-gov-east-1": true, "us-gov-west-1": true,
	"us-iso-east-1": true, "us-iso-west-1": true, "us-isob-east-1": true, "us-isob-west-1": true,
	"eu-isoe-west-1": true, "us-isof-east-1": true, "us-isof-south-1": true, "eusc-de-east-1": true,
}

// KnownRegion reports whether s is a region AWS had when this meterd was
// built. Quotas bucket by known region, so that made-up region names
// cannot multiply a caller's buckets.
func KnownRegion(s string) bool { return knownRegions[s] }
