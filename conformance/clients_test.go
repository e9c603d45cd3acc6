package conformance

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// client is one AWS client of the suite.
type client struct {
	ID      string // subtest name
	Name    string // for the README table
	Version string // the version the suite pins
	New     bool   // knows CustomerAWSAccountId and ClientToken
	// EnvEndpoint: the endpoint comes only from
	// AWS_ENDPOINT_URL_MARKETPLACE_METERING; otherwise the client predates
	// that variable and is given --endpoint-url / endpoint_url.
	EnvEndpoint bool
	// EndpointFrom names how the client is given the endpoint in the
	// README tables when it is neither of the above.
	EndpointFrom string
	// version returns the installed version, or "" and why it is missing.
	version func() (string, string)
	// command returns the process that runs the client's scenarios, phases
	// read from stdin; nil for the Go SDK, which runs in this process.
	command func() *exec.Cmd
}

// clients are the clients of the suite, in the README table's order.
func clients() []client {
	python := func(interp, script string) func() *exec.Cmd {
		return func() *exec.Cmd { return exec.Command(interp, filepath.Join("python", script)) }
	}
	return []client{
		{ID: "go", Name: "Go SDK v2 (service/marketplacemetering)", Version: "v1.35.5", New: true,
			version: goVersion},
		{ID: "boto3", Name: "boto3 (image Python)", Version: "1.43.11", New: true, EnvEndpoint: true,
			version: pyModuleVersion("python3", "boto3"), command: python("python3", "boto3_scenarios.py")},
		{ID: "awscli-v1", Name: "AWS CLI v1 (image Python)", Version: "1.45.11", New: true, EnvEndpoint: true,
			version: pyModuleVersion("python3", "awscli"), command: python("python3", "cli_scenarios.py")},
		{ID: "js", Name: "JS SDK v3 (@aws-sdk/client-marketplace-metering)", Version: "3.1138.0", New: true, EnvEndpoint: true,
			version: jsVersion, command: func() *exec.Cmd { return exec.Command("node", "js/scenarios.mjs") }},
		{ID: "awscli-v2-debian", Name: "AWS CLI v2 (Debian awscli)", Version: "2.9.19",
			version: pyModuleVersion("/usr/bin/python3", "awscli"), command: python("python3", "cli_scenarios.py")},
		{ID: "boto3-debian", Name: "boto3 (Debian python3-boto3)", Version: "1.26.27",
			version: pyModuleVersion("/usr/bin/python3", "boto3"), command: python("/usr/bin/python3", "boto3_scenarios.py")},
		{ID: "java-v1", Name: "Java SDK v1 (aws-java-sdk-marketplacemeteringservice)", Version: "1.12.780", EndpointFrom: "`withEndpointConfiguration`",
			version: javaVersion("aws-java-sdk-marketplacemeteringservice"), command: javaDriver("v1-metering")},
	}
}

func pyModuleVersion(interp, module string) func() (string, string) {
	return func() (string, string) {
		out, err := exec.Command(interp, "-c", "import "+module+", cryptography; print("+module+".__version__)").CombinedOutput()
		if err != nil {
			return "", interp + " cannot import " + module + " and cryptography: " + strings.TrimSpace(string(out))
		}
		return strings.TrimSpace(string(out)), ""
	}
}

func jsVersion() (string, string) {
	b, err := os.ReadFile("js/node_modules/@aws-sdk/client-marketplace-metering/package.json")
	if err != nil {
		return "", "the JS SDK is not installed: run `npm ci` in conformance/js (" + err.Error() + ")"
	}
	var pkg struct{ Version string }
	json.Unmarshal(b, &pkg)
	if _, err := exec.LookPath("node"); err != nil {
		return "", "node is not on PATH"
	}
	return pkg.Version, ""
}

// goVersion is the version of the SDK module this package is built with.
func goVersion() (string, string) {
	b, err := os.ReadFile("../go.mod")
	if err != nil {
		return "", err.Error()
	}
	for line := range strings.Lines(string(b)) {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "github.com/aws/aws-sdk-go-v2/service/marketplacemetering" {
			return f[1], ""
		}
	}
	return "", "marketplacemetering is not in go.mod"
}
