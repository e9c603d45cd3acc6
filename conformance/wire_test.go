package conformance

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/meterd/meterd/admin"
	"github.com/meterd/meterd/internal/meterdtest"
)

// The wire fixtures stand in for the SDKs AWS documents this API for that
// cannot run here (.NET, R's paws, Julia's AWS.jl): each request is built
// as that SDK's marshaller builds it and signed as its signer signs it,
// both read from the SDK's public sources (named on each fixture), and each
// answer is checked as that SDK parses answers.

// wireSDK is how one SDK puts a Metering request on the wire.
type wireSDK struct {
	Name    string // for failure messages
	Version string // the sources the fixture follows
	// signed are the header names its signer signs, besides host.
	signed []string
	// hostWithPort: the Host header (and the signed host) keeps a
	// non-default port.
	hostWithPort bool
	// contentSHA256: the signer also sends X-Amz-Content-Sha256.
	contentSHA256 bool
	// headers are the headers its marshaller and HTTP layer add, signed or
	// not, besides Host, X-Amz-Date, X-Amz-Content-Sha256 and Content-Length
	// (the User-Agent values are of the SDK's form, not its exact text).
	headers map[string]string
	// record is a UsageRecord's JSON as the marshaller writes it.
	record func(ts time.Time, quantity int64) string
	// quantity is the quantity the fixture sends.
	quantity int64
}

// wireSDKs are the fixtures, each following the named sources.
var wireSDKs = []wireSDK{
	{
		// aws/aws-sdk-net, V4 (System.Text.Json) generation, at the commits in Version:
		// sdk/src/Services/AWSMarketplaceMetering/Generated/Model/Internal/MarshallTransformations/
		// BatchMeterUsageRequestMarshaller.cs and UsageRecordMarshaller.cs (Utf8JsonWriter, members
		// in model order, Timestamp as Convert.ToInt64(FromDateTimeToUnixTimestamp), X-Amz-Api-Version);
		// sdk/src/Core/Amazon.Runtime/Internal/Auth/AWS4Signer.cs (Host with a non-default port,
		// X-Amz-Content-SHA256 sent, every header signed but User-Agent, x-amz-user-agent,
		// amz-sdk-invocation-id, amz-sdk-request, transfer-encoding, x-amzn-trace-id).
		Name: ".NET (AWSSDK.AWSMarketplaceMetering)", Version: "aws-sdk-net V4 (BatchMeterUsageRequestMarshaller.cs 2ea4aad, UsageRecordMarshaller.cs 6a3dc33, AWS4Signer.cs 09a5323)",
		signed:       []string{"content-length", "content-type", "x-amz-api-version", "x-amz-content-sha256", "x-amz-date", "x-amz-target"},
		hostWithPort: true, contentSHA256: true,
		headers: map[string]string{
			"Content-Type": "application/x-amz-json-1.1", "X-Amz-Api-Version": "2016-01-14",
			"User-Agent":            "aws-sdk-dotnet-coreclr/4.0.0.0 ua/2.1 os/linux md/Metering#4.0.0.0 lang/.NET_Core#8.0",
			"amz-sdk-invocation-id": "2f6c1a7e-5d8b-4f3e-9a61-3b2c7d9e0f11", "amz-sdk-request": "attempt=1; max=5",
		},
		record: func(ts time.Time, q int64) string {
			return `{"CustomerIdentifier":"demo-customer-1","Dimension":"requests","Quantity":` + strconv.FormatInt(q, 10) +
				`,"Timestamp":` + strconv.FormatInt(ts.Unix(), 10) + `}`
		},
		quantity: 3,
	},
	{
		// paws-r/paws, paws.common (R): R/jsonutil.R json_build_scalar (integers and doubles
		// as.character(), so 100000 is 1e+05; timestamps as.character(as.numeric()), 15
		// significant digits), members in the model's order; R/handlers_jsonrpc.R (Content-Type,
		// X-Amz-Target); R/signer_v4.R (host and every header but Authorization, User-Agent and
		// X-Amzn-Trace-Id signed, no X-Amz-Content-Sha256 outside S3 and Glacier, only default
		// ports dropped from the host).
		Name: "R (paws)", Version: "paws.common (signer_v4.R fc1f3a0, jsonutil.R bfda89f)",
		signed:       []string{"content-type", "x-amz-date", "x-amz-target"},
		hostWithPort: true,
		headers: map[string]string{
			"Content-Type": "application/x-amz-json-1.1", "User-Agent": "paws/0.1.0 (R4.4.1; linux; x86_64)",
		},
		record: func(ts time.Time, q int64) string {
			return `{"Timestamp":` + rNumber(float64(ts.UnixMicro())/1e6) + `,"CustomerIdentifier":"demo-customer-1","Dimension":"requests","Quantity":` +
				rNumber(float64(q)) + `}`
		},
		quantity: 100000,
	},
	{
		// JuliaCloud/AWS.jl: src/utilities/request.jl submit_request (Host header set to the
		// URL's host without the port, User-Agent set before signing); src/utilities/sign.jl
		// sign_aws4! (every header signed, x-amz-content-sha256 sent); JSON services send the
		// caller's Dict through JSON.jl, where a Float64 from datetime2unix prints in Julia's
		// shortest form (1.764790123456e9).
		Name: "Julia (AWS.jl)", Version: "AWS.jl (request.jl 549fe10, sign.jl 08b9a04)",
		signed:        []string{"content-type", "user-agent", "x-amz-content-sha256", "x-amz-date", "x-amz-target"},
		contentSHA256: true,
		headers: map[string]string{
			"Content-Type": "application/x-amz-json-1.1", "User-Agent": "AWS.jl/1.0.0",
		},
		record: func(ts time.Time, q int64) string {
			return `{"Quantity":` + strconv.FormatInt(q, 10) + `,"Dimension":"requests","Timestamp":` + juliaFloat(float64(ts.UnixMilli())/1e3) +
				`,"CustomerIdentifier":"demo-customer-1"}`
		},
		quantity: 3,
	},
}

// rNumber writes a double as R's as.character() does: 15 significant
// digits, in scientific notation (two exponent digits at least) only when
// that is shorter: 100000 is 1e+05, 150000 stays 150000.
func rNumber(f float64) string {
	mant, exp, _ := strings.Cut(strconv.FormatFloat(f, 'e', 14, 64), "e")
	mant = strings.TrimRight(strings.TrimRight(mant, "0"), ".")
	sci := mant + "e" + exp
	rounded, _ := strconv.ParseFloat(sci, 64)
	if fixed := strconv.FormatFloat(rounded, 'f', -1, 64); len(fixed) <= len(sci) {
		return fixed
	}
	return sci
}

// juliaFloat writes a Float64 as Julia's print does: the shortest digits,
// in scientific notation from 1e6 on (1.764790123456e9).
func juliaFloat(f float64) string {
	if f < 1e6 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // 1.764790123456e+09
	mant, exp, _ := strings.Cut(s, "e+")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	return mant + "e" + strings.TrimLeft(exp, "0")
}

// signV4 signs r as an SDK's own SigV4 signer does: the headers named in
// signed and host, each canonicalised as SigV4 says, and payloadHash as the
// body's hash. TestWireSigner checks it against the Go SDK's signer.
func signV4(r *http.Request, cr creds, now time.Time, signed []string, payloadHash string) {
	names := append([]string{"host"}, signed...)
	slices.Sort(names)
	var canon strings.Builder
	for _, n := range names {
		v := r.Header.Get(n)
		if n == "host" {
			v = r.Host
		}
		canon.WriteString(n + ":" + strings.Join(strings.Fields(v), " ") + "\n")
	}
	date := now.UTC().Format("20060102")
	scope := date + "/us-east-1/aws-marketplace/aws4_request"
	creq := strings.Join([]string{r.Method, "/", "", canon.String(), strings.Join(names, ";"), payloadHash}, "\n")
	sum := sha256.Sum256([]byte(creq))
	toSign := "AWS4-HMAC-SHA256\n" + now.UTC().Format("20060102T150405Z") + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
	key := []byte("AWS4" + cr.Secret)
	for _, part := range []string{date, "us-east-1", "aws-marketplace", "aws4_request", toSign} {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(part))
		key = m.Sum(nil)
	}
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+cr.Key+"/"+scope+", SignedHeaders="+strings.Join(names, ";")+
		", Signature="+hex.EncodeToString(key))
}

// wireRequest builds and signs one request of sdk for the AWSMPMeteringService
// operation op with body, as sent at now.
func (sdk wireSDK) request(t *testing.T, base *url.URL, cr creds, op, body string, now time.Time) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, base.String()+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Host = base.Host
	if !sdk.hostWithPort {
		r.Host = base.Hostname()
	}
	for k, v := range sdk.headers {
		r.Header.Set(k, v)
	}
	r.Header.Set("X-Amz-Target", "AWSMPMeteringService."+op)
	r.Header.Set("X-Amz-Date", now.UTC().Format("20060102T150405Z"))
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	sum := sha256.Sum256([]byte(body))
	hash := hex.EncodeToString(sum[:])
	if sdk.contentSHA256 {
		r.Header.Set("X-Amz-Content-Sha256", hash)
	}
	signV4(r, cr, now, sdk.signed, hash)
	return r
}

// wireAnswer is an answer as the fixtures read it.
type wireAnswer struct {
	status int
	header http.Header
	body   map[string]any // numbers as json.Number
	raw    []byte
}

func send(t *testing.T, r *http.Request) wireAnswer {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := wireAnswer{status: resp.StatusCode, header: resp.Header, raw: raw}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&a.body); err != nil {
		t.Fatalf("answer %d %q is not a JSON object: %v", resp.StatusCode, raw, err)
	}
	// Every one of these SDKs picks the JSON parser by this exact type.
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
		t.Errorf("Content-Type = %q, want exactly application/x-amz-json-1.1", ct)
	}
	return a
}

// checkError checks an error answer as all three SDKs read it: .NET's
// JsonErrorResponseUnmarshaller takes X-Amzn-ErrorType first, paws'
// jsonrpc_unmarshal_error and AWS.jl's AWSException take the body's bare
// __type (after any '#') and its lowercase message.
func checkError(t *testing.T, a wireAnswer, code string) {
	t.Helper()
	typ, _ := a.body["__type"].(string)
	msg, _ := a.body["message"].(string)
	if a.status != 400 || typ != code || a.header.Get("X-Amzn-ErrorType") != code || msg == "" {
		t.Errorf("answer %d X-Amzn-ErrorType %q %s, want 400 with header and a bare __type %s, and a message",
			a.status, a.header.Get("X-Amzn-ErrorType"), a.raw, code)
	}
}

// TestWireFixtures sends each fixture's requests to the binary with the
// demo catalog and checks the answers as its SDK parses them.
func TestWireFixtures(t *testing.T) {
	t.Parallel()
	srv := meterdtest.Serve(t, meterdtest.Build(t))
	base, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	key := creds{Key: "test", Secret: "test"}
	for i, sdk := range wireSDKs {
		t.Run(sdk.Name, func(t *testing.T) {
			// Each fixture meters its own hour: none is a duplicate of another.
			ts := time.Now().Add(-time.Duration(i+1) * time.Hour).Truncate(time.Millisecond).Add(456 * time.Millisecond)
			body := `{"ProductCode":"demo-product","UsageRecords":[` + sdk.record(ts, sdk.quantity) + `]}`
			a := send(t, sdk.request(t, base, key, "BatchMeterUsage", body, time.Now()))
			var out struct {
				Results []struct {
					Status      string
					UsageRecord struct {
						Timestamp json.Number
						Quantity  json.Number
					}
				}
			}
			b, _ := json.Marshal(a.body)
			d := json.NewDecoder(bytes.NewReader(b))
			d.UseNumber()
			d.Decode(&out)
			if a.status != 200 || len(out.Results) != 1 || out.Results[0].Status != "Success" {
				t.Fatalf("BatchMeterUsage %s answered %d %s, want one Success", body, a.status, a.raw)
			}
			// Timestamps are plain numbers (epoch seconds), integers plain integers.
			echo := out.Results[0].UsageRecord
			sent := ts
			if sdk.Name == wireSDKs[0].Name {
				sent = ts.Truncate(time.Second) // .NET sends whole seconds
			}
			if sec, err := echo.Timestamp.Float64(); err != nil || time.UnixMilli(int64(sec*1000+0.5)).Sub(sent).Abs() > time.Millisecond/2 {
				t.Errorf("echoed Timestamp %q, want the number %d.%03d", echo.Timestamp, sent.Unix(), sent.Nanosecond()/1e6)
			}
			if echo.Quantity.String() != strconv.FormatInt(sdk.quantity, 10) {
				t.Errorf("echoed Quantity %q, want the integer %d", echo.Quantity, sdk.quantity)
			}

			bad := `{"ProductCode":"no-such-product","UsageRecords":[` + sdk.record(ts, 1) + `]}`
			checkError(t, send(t, sdk.request(t, base, key, "BatchMeterUsage", bad, time.Now())), "InvalidProductCodeException")
			checkError(t, send(t, sdk.request(t, base, key, "ResolveCustomer", `{"RegistrationToken":"not-a-token"}`, time.Now())),
				"InvalidTokenException")
		})
	}

	// .NET corrects its clock from the answer's Date header: that is wall
	// time, whatever the server clock says.
	t.Run("DateOnWallTime", func(t *testing.T) {
		ctx := context.Background()
		ad := admin.NewClient(srv.URL, srv.AdminToken)
		if _, err := ad.AdvanceClock(ctx, 48*time.Hour); err != nil {
			t.Fatal(err)
		}
		defer ad.ResetClock(ctx)
		sdk := wireSDKs[0]
		a := send(t, sdk.request(t, base, key, "ResolveCustomer", `{"RegistrationToken":"not-a-token"}`, time.Now()))
		date, err := http.ParseTime(a.header.Get("Date"))
		if err != nil || date.Sub(time.Now()).Abs() > 10*time.Minute {
			t.Errorf("Date %q with the server clock 48 h ahead, want wall time (%v)", a.header.Get("Date"), err)
		}
	})
}

// TestWireSigner checks the fixtures' signer against the Go SDK's SigV4
// signer on the headers the Go signer chooses.
func TestWireSigner(t *testing.T) {
	body := `{"RegistrationToken":"x"}`
	now := time.Date(2026, 12, 3, 19, 0, 0, 0, time.UTC)
	sum := sha256.Sum256([]byte(body))
	hash := hex.EncodeToString(sum[:])
	r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:4579/", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-amz-json-1.1")
	r.Header.Set("X-Amz-Target", "AWSMPMeteringService.ResolveCustomer")
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, r, hash,
		"aws-marketplace", "us-east-1", now)
	if err != nil {
		t.Fatal(err)
	}
	want := r.Header.Get("Authorization")
	_, signedList, _ := strings.Cut(want, "SignedHeaders=")
	signedList, _, _ = strings.Cut(signedList, ",")
	var signed []string
	for _, n := range strings.Split(signedList, ";") {
		if n != "host" {
			signed = append(signed, n)
		}
	}
	r.Header.Set("Content-Length", strconv.Itoa(len(body))) // the Go signer takes it from r.ContentLength
	signV4(r, creds{Key: "test", Secret: "test"}, now, signed, hash)
	if got := r.Header.Get("Authorization"); got != want {
		t.Errorf("signV4 Authorization\n%s\nwant the Go SDK's\n%s", got, want)
	}
}

// TestWireNumbers checks the fixtures' number writers against the forms
// R and Julia print.
func TestWireNumbers(t *testing.T) {
	for f, want := range map[float64]string{
		100000: "1e+05", 150000: "150000", 1e6: "1e+06", 1200000: "1200000", 3: "3", 1764790123.456789: "1764790123.45679", 1.7e9: "1.7e+09"} {
		if got := rNumber(f); got != want {
			t.Errorf("rNumber(%v) = %s, want %s", f, got, want)
		}
	}
	for f, want := range map[float64]string{1764790123.456: "1.764790123456e9", 1.7e9: "1.7e9", 2e6: "2.0e6", 12.5: "12.5"} {
		if got := juliaFloat(f); got != want {
			t.Errorf("juliaFloat(%v) = %s, want %s", f, got, want)
		}
	}
}
