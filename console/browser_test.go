package console_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// updateDocs rewrites the screenshots README shows (docs/console-*.png).
var updateDocs = flag.Bool("update-docs", false, "write the README's console screenshots to docs/")

// newBrowser starts Debian's headless chromium (never a downloaded one) at
// 1280×800 and returns a chromedp context for it.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("the browser test needs Debian's chromium (apt-get install chromium; .ci/run installs it):", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 800),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
	}
	// A generous bound that only a hung browser reaches.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatal("start chromium:", err)
	}
	return bctx
}

// screenshot saves the whole page as name in the test's artifacts and,
// with -update-docs, under docs/.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.ArtifactDir()
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", filepath.Join(dir, name))
	if *updateDocs && (name == "console-dashboard.png" || name == "console-usage.png") {
		if err := os.WriteFile(filepath.Join("..", "docs", name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// narrow saves a screenshot of the page in a 390 px wide window, then
// sets the window back to 1280×800. Nothing on the page may be wider than
// the window: wide tables scroll inside their box.
func narrow(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 800)); err != nil {
		t.Fatal(err)
	}
	width, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	if err != nil {
		t.Fatal(err)
	}
	if width > 390 {
		wide, _ := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("body *")].filter(e => (!e.parentElement.closest(".scroll")) && e.getBoundingClientRect().right > 400).slice(0, 8).map(e => e.tagName + "." + e.className + " " + Math.round(e.getBoundingClientRect().right))`))
		t.Logf("wide: %q", wide)
		t.Errorf("%s: the page is %d px wide in a 390 px window", name, width)
	}
	screenshot(t, ctx, name)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatal(err)
	}
}

// text returns the text of the first element matching sel.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	// Read in one evaluation: a node id from a query can go stale when
	// the page is replaced between the query and the read.
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(document.querySelector(%q) || {}).innerText || ""`, sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// location returns the page's URL path.
func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	p, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.pathname`))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBrowser logs in with a real headless Chromium, sees the metered
// records on the dashboard's charts and in the usage explorer, and is
// refused with a wrong token, a forged CSRF token and an expired session.
func TestBrowser(t *testing.T) {
	s := startServer(t)
	now := s.Clock.Now()
	s.meter(t, "demo-customer-1", 5, now)
	// Two records a day and more back: metered then, the clock moved back.
	s.Clock.Set(now.Add(-30 * time.Hour))
	s.meter(t, "demo-customer-2", 2, s.Clock.Now())
	s.Clock.Set(now)
	ctx := newBrowser(t)

	// Every page without a session leads to the login form.
	if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+"/console/usage"), chromedp.WaitVisible(chromedp.ID("token"))); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "console-login.png")

	// A wrong token is refused.
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("token"), "not-the-token"),
		chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.CSS(".error")),
	); err != nil {
		t.Fatal(err)
	}
	if msg := text(t, ctx, ".error"); !strings.Contains(msg, "not an admin token") {
		t.Errorf("wrong token: the page says %q", msg)
	}

	// The right one, typed with the keyboard and sent with Enter, leads
	// to the page first asked for.
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.ID("token"), adminToken+"\r"),
		chromedp.WaitVisible(chromedp.ID("results")),
	); err != nil {
		t.Fatal(err)
	}
	if p := location(t, ctx); p != "/console/usage" {
		t.Errorf("after login the browser is at %s, want /console/usage", p)
	}
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#results tbody tr").length`))
	if err != nil {
		t.Fatal(err)
	}
	if rows != 7 {
		t.Errorf("the usage table has %d rows, want the 7 records metered", rows)
	}
	screenshot(t, ctx, "console-usage.png")

	// The dashboard draws its charts (uPlot canvases) with the records.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(s.URL+"/console/"),
		chromedp.WaitVisible(chromedp.CSS(".plot canvas")),
	); err != nil {
		t.Fatal(err)
	}
	captions, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("figcaption")].map(e => e.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"demo-product: records per hour, last 24 h (5 in all)",
		"demo-product: records per hour, last 7 d (7 in all)",
	}
	for _, w := range want {
		if !strings.Contains(strings.Join(captions, "\n"), w) {
			t.Errorf("dashboard captions %q lack %q", captions, w)
		}
	}
	canvases, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(".plot canvas").length`))
	if err != nil {
		t.Fatal(err)
	}
	if canvases < 3 {
		t.Errorf("%d charts drawn, want at least 3 (records 24 h and 7 d, errors)", canvases)
	}
	screenshot(t, ctx, "console-dashboard.png")
	narrow(t, ctx, "console-dashboard-narrow.png")

	if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+"/console/products"), chromedp.WaitVisible(chromedp.ID("p-demo-product"))); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "console-products.png")
	narrow(t, ctx, "console-products-narrow.png")

	// A registration token minted from the products page, with its copy button.
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`button[aria-label="Mint a registration token for demo-customer-1"]`)),
		chromedp.WaitVisible(chromedp.CSS("#copy-token[data-ready]")),
		chromedp.Click(chromedp.ID("copy-token")),
	); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("copy-status").textContent !== ""`)); err != nil {
		t.Fatal(err)
	}
	if tok, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("token-value").value`)); err != nil || len(tok) < 20 {
		t.Errorf("the token page shows %q, %v; want a registration token", tok, err)
	}
	screenshot(t, ctx, "console-token.png")

	if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+"/console/notifications"), chromedp.WaitVisible(chromedp.ID("delivery-list"))); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "console-notifications.png")
	narrow(t, ctx, "console-notifications-narrow.png")

	// The live tail adds each request as it is answered.
	if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+"/console/tail"), chromedp.WaitVisible(chromedp.ID("tail"))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("tail-status").textContent.startsWith("Live")`)); err != nil {
		t.Fatal(err)
	}
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#tail tbody tr").length`))
	if err != nil {
		t.Fatal(err)
	}
	s.meter(t, "demo-customer-1", 1, now)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`document.querySelectorAll("#tail tbody tr").length > %d`, shown))); err != nil {
		t.Fatal(err)
	}
	if op := text(t, ctx, "#tail tbody tr:first-child td:nth-child(2)"); op != "BatchMeterUsage" {
		t.Errorf("the newest row of the live tail is %q, want BatchMeterUsage", op)
	}
	screenshot(t, ctx, "console-tail.png")
	narrow(t, ctx, "console-tail-narrow.png")

	// The clock page advances the clock; a forged CSRF token is refused.
	before := s.Clock.Now()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(s.URL+"/console/clock"),
		chromedp.WaitVisible(chromedp.ID("advance")),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "console-clock.png")
	if err := chromedp.Do(ctx,
		chromedp.Clear(chromedp.ID("advance")),
		chromedp.SendKeys(chromedp.ID("advance"), "2h"),
		chromedp.Click(chromedp.CSS(`button[value=advance]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	); err != nil {
		t.Fatal(err)
	}
	if got := s.Clock.Now(); got.Sub(before) < 2*time.Hour {
		t.Errorf("clock %s after advancing 2h from %s", got, before)
	}
	moved := s.Clock.Now()
	if err := chromedp.Do(ctx,
		chromedp.SetValue(chromedp.CSS(`form[action="/console/clock"] input[name=csrf]`), strings.Repeat("f", 64)),
		chromedp.Click(chromedp.CSS(`button[value=advance]`)),
		chromedp.WaitVisible(chromedp.CSS(".error")),
	); err != nil {
		t.Fatal(err)
	}
	if msg := text(t, ctx, ".error"); !strings.Contains(msg, "CSRF") {
		t.Errorf("forged CSRF token: the page says %q", msg)
	}
	if got := s.Clock.Now(); got.Sub(moved) >= time.Hour {
		t.Errorf("a forged form moved the clock from %s to %s", moved, got)
	}

	// The faults page adds a rule.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(s.URL+"/console/faults"),
		chromedp.WaitVisible(chromedp.ID("error")),
		chromedp.SendKeys(chromedp.ID("error"), "ThrottlingException"),
		chromedp.Submit(chromedp.ID("error")),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, "console-faults.png")
	if rules, err := s.Admin.Faults(context.Background()); err != nil || len(rules) != 1 || rules[0].Error != "ThrottlingException" {
		t.Errorf("rules = %v, %v; want the ThrottlingException rule added", rules, err)
	}

	// An expired session leads back to the login form.
	s.Session.Add(2 * time.Hour)
	if err := chromedp.Do(ctx, chromedp.Navigate(s.URL+"/console/"), chromedp.WaitVisible(chromedp.ID("token"))); err != nil {
		t.Fatal(err)
	}
	if p := location(t, ctx); p != "/console/login" {
		t.Errorf("with an expired session the browser is at %s, want /console/login", p)
	}
}
