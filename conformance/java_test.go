package conformance

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/internal/meterdtest"
)

// javaBuild compiles the Java drivers under java/ once per test binary and
// returns their class path: offline (-o) when the local Maven repository
// already has every dependency, online otherwise (.ci/run primes it).
var javaBuild = sync.OnceValues(func() (string, error) {
	if _, err := exec.LookPath("mvn"); err != nil {
		return "", fmt.Errorf("mvn is not on PATH: install Debian's maven")
	}
	if _, err := exec.LookPath("java"); err != nil {
		return "", fmt.Errorf("java is not on PATH: install Debian's openjdk-17-jdk-headless")
	}
	mvn := func(args ...string) ([]byte, error) {
		cmd := exec.Command("mvn", append([]string{"-q", "-B"}, args...)...)
		cmd.Dir = "java"
		return cmd.CombinedOutput()
	}
	if _, err := mvn("-o", "compile"); err != nil {
		if out, err := mvn("compile"); err != nil {
			return "", fmt.Errorf("mvn -q -B compile in conformance/java: %v\n%s", err, out)
		}
	}
	cp, err := os.ReadFile(filepath.Join("java", "target", "classpath.txt"))
	if err != nil {
		return "", err
	}
	return filepath.Join("java", "target", "classes") + string(os.PathListSeparator) + strings.TrimSpace(string(cp)), nil
})

// javaVersion returns the version of the artifact in the drivers' class
// path, building them first.
func javaVersion(artifact string) func() (string, string) {
	jar := regexp.MustCompile(`/` + regexp.QuoteMeta(artifact) + `-([0-9][^/:]*)\.jar`)
	return func() (string, string) {
		cp, err := javaBuild()
		if err != nil {
			return "", err.Error()
		}
		m := jar.FindStringSubmatch(cp)
		if m == nil {
			return "", artifact + " is not in conformance/java's class path"
		}
		return m[1], ""
	}
}

// javaDriver returns the command that runs one of the Java drivers
// (Main.java names them), with the JVM's system properties props.
func javaDriver(driver string, props ...string) func() *exec.Cmd {
	return func() *exec.Cmd {
		cp, _ := javaBuild()
		// The SDK v1 prints its end-of-support notice with a stack trace.
		args := append([]string{"-Daws.java.v1.disableDeprecationAnnouncement=true"}, props...)
		return exec.Command("java", append(args, "-cp", cp, "meterd.conformance.Main", driver)...)
	}
}

// TestSQSJavaV2 runs a queue consumer written with the Java SDK v2
// (software.amazon.awssdk:sqs, V2Sqs.java) over HTTP and over HTTPS with a
// test certificate in a JVM trust store: the endpoint from
// AWS_ENDPOINT_URL_SQS and once from endpointOverride, the SDK's own MD5
// checks, errors as their modeled classes and codes, and over HTTP the
// SDK's retry strategy on a throttling and a 5xx answer from fault rules. The SDK signs the
// payload's hash by default on both; with payload signing turned off it
// sends UNSIGNED-PAYLOAD over HTTPS, which meterd accepts as AWS does, and
// still the hash over HTTP.
func TestSQSJavaV2(t *testing.T) {
	t.Parallel()
	bin := meterdtest.Build(t)
	want, why := javaVersion("sqs")()
	if why != "" || want != "2.59.1" {
		t.Fatalf("Java SDK v2 sqs: version %q, want 2.59.1; %s (see .ci/run)", want, why)
	}
	for _, tt := range []struct {
		name string
		tls  bool
		// unsigned is the x-amz-content-sha256 the SDK sends with payload
		// signing off ("hex": the payload's hash).
		unsigned string
	}{
		{"HTTP", false, "hex"},
		{"HTTPS", true, "UNSIGNED-PAYLOAD"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var args, props []string
			if tt.tls {
				dir := t.TempDir()
				cert, key, _ := meterdtest.SelfSigned(t, dir)
				args = []string{"--tls-cert", cert, "--tls-key", key}
				store := filepath.Join(dir, "truststore.p12")
				if out, err := exec.Command("keytool", "-importcert", "-noprompt", "-alias", "meterd", "-file", cert,
					"-keystore", store, "-storetype", "PKCS12", "-storepass", "conformance").CombinedOutput(); err != nil {
					t.Fatalf("keytool -importcert: %v\n%s", err, out)
				}
				props = []string{"-Djavax.net.ssl.trustStore=" + store, "-Djavax.net.ssl.trustStorePassword=conformance"}
			}
			srv := meterdtest.Serve(t, bin, args...)
			cmd := javaDriver("v2-sqs", props...)
			c := client{ID: "java-v2-sqs", command: func() *exec.Cmd {
				c := cmd()
				c.Env = []string{"AWS_ENDPOINT_URL_SQS=" + srv.URL}
				return c
			}}
			fx := map[string]any{
				"client": c.ID, "account": "111122223333",
				"seller": creds{Key: "test", Secret: "test"}, "other": creds{Key: "buyer", Secret: "buyer"},
				// The same server by another name: the queue URLs it
				// answers show which endpoint the SDK reached.
				"override": strings.Replace(srv.URL, "127.0.0.1", "localhost", 1),
				"unsigned": tt.unsigned,
			}
			p := (&suite{srv: srv}).startScript(t, c, fx)
			got := p.run(t, "main")
			want := 9
			if !tt.tls {
				// The SDK's retry strategy, once over plain HTTP: a fault
				// rule answers SendMessage's next request once.
				want += 3
				ad := admin.NewClient(srv.URL, srv.AdminToken)
				for _, phase := range []string{"retry-ThrottlingException", "retry-InternalServiceErrorException", "noretry-ValidationException"} {
					_, code, _ := strings.Cut(phase, "-")
					if _, err := ad.AddFault(t.Context(), admin.FaultSpec{Operation: "SendMessage", Error: code, Count: 1}); err != nil {
						t.Fatalf("AddFault(%s) = %v", code, err)
					}
					got = append(got, p.run(t, phase)...)
					if rules, err := ad.Faults(t.Context()); err != nil || len(rules) != 0 {
						t.Errorf("%s: the fault rule was not hit (%v, %v)", phase, rules, err)
						ad.ClearFaults(t.Context())
					}
				}
			}
			p.close(t)
			if len(got) != want {
				t.Errorf("%d results, want %d: %+v", len(got), want, got)
			}
			for _, r := range got {
				if !r.OK {
					t.Errorf("%s: %s", r.Scenario, r.Detail)
				}
			}
		})
	}
}
