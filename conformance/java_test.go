package conformance

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
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
	jar := regexp.MustCompile(regexp.QuoteMeta(artifact) + `-([0-9][^/:]*)\.jar`)
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
// (Main.java names them).
func javaDriver(driver string) func() *exec.Cmd {
	return func() *exec.Cmd {
		cp, _ := javaBuild()
		// The SDK v1 prints its end-of-support notice with a stack trace.
		return exec.Command("java", "-Daws.java.v1.disableDeprecationAnnouncement=true", "-cp", cp, "meterd.conformance.Main", driver)
	}
}
