package server

import (
	"net"
	"os"
	"path/filepath"
)

// EndpointVariables are the service-specific endpoint variables, one per
// AWS API meterd serves, that every current AWS SDK and the AWS CLI v2 read
// (AWS_ENDPOINT_URL_ followed by the service id in capitals).
func EndpointVariables() []string {
	return []string{
		"AWS_ENDPOINT_URL_MARKETPLACE_METERING",
		"AWS_ENDPOINT_URL_MARKETPLACE_ENTITLEMENT_SERVICE",
		"AWS_ENDPOINT_URL_MARKETPLACE_AGREEMENT",
		"AWS_ENDPOINT_URL_MARKETPLACE_CATALOG",
		"AWS_ENDPOINT_URL_SQS",
	}
}

// EnvVar is an environment variable and its value.
type EnvVar struct {
	Name, Value string
}

// ClientEnv returns the environment that points an AWS SDK or the AWS CLI
// at the server at url, signing with the given key in region: every
// endpoint variable, the key pair, and the region both as AWS_REGION (the
// Go, JS and Java SDKs) and AWS_DEFAULT_REGION (botocore and the AWS CLI).
func ClientEnv(url, keyID, secret, region string) []EnvVar {
	var env []EnvVar
	for _, name := range EndpointVariables() {
		env = append(env, EnvVar{name, url})
	}
	return append(env,
		EnvVar{"AWS_ACCESS_KEY_ID", keyID},
		EnvVar{"AWS_SECRET_ACCESS_KEY", secret},
		EnvVar{"AWS_REGION", region},
		EnvVar{"AWS_DEFAULT_REGION", region},
	)
}

// DefaultURL is the server's URL with the default --listen, which the CLI
// uses without --server or METERD_SERVER.
const DefaultURL = "http://127.0.0.1:4579"

// dialAddr is the address to reach a listener on addr from this machine:
// the loopback address when addr is unspecified (0.0.0.0, [::]), addr
// itself otherwise.
func dialAddr(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", port)
	}
	return addr.String()
}

// inContainer reports whether this process runs in a container made by
// Docker (/.dockerenv) or Podman (/run/.containerenv), under root ("" is /).
func inContainer(root string) bool {
	for _, marker := range []string{".dockerenv", "run/.containerenv"} {
		if _, err := os.Stat(filepath.Join("/", root, marker)); err == nil {
			return true
		}
	}
	return false
}
