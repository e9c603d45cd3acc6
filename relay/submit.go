package relay

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering"
	"github.com/aws/aws-sdk-go-v2/service/marketplacemetering/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/meterd/meterd"
)

// Limits of one BatchMeterUsage request.
const (
	maxRecordsPerRequest = 25
	maxRequestBytes      = 1 << 20
	// expiryMargin is kept between a record's last attempt and the end of
	// its window, for the request's own travel time and clock drift.
	expiryMargin = time.Minute
	// claimBatch is how many due records a relay claims at a time: ten
	// requests, a second's worth at the default rate. The lease
	// (Config.Lease) must outlast sending them.
	claimBatch = 10 * maxRecordsPerRequest
)

// Submit runs one submission pass: it freezes the aggregates of closed
// hours, claims the due records that no other relay holds (250 at a time),
// expires those that can no longer reach the upstream in time, and sends
// the others with BatchMeterUsage, one product per request, at most 25
// records each, under the rate limit. It returns how many records got a
// final outcome.
func (r *Relay) Submit(ctx context.Context) (int, error) {
	r.submitMu.Lock()
	defer r.submitMu.Unlock()
	now := r.clock.Now()
	lastHour := meterd.Hour(now.Add(-r.cfg.Grace - time.Hour))
	if r.cfg.Heartbeat {
		// Only hours still inside the window: older ones would expire.
		first := meterd.Hour(now.Add(-r.cfg.Window + time.Hour))
		if _, err := r.store.Heartbeats(ctx, first, lastHour); err != nil {
			return 0, err
		}
	}
	if _, err := r.store.Prune(ctx, now.Add(-r.cfg.Retention)); err != nil {
		return 0, err
	}
	// Rows that cannot be sent are set aside before anything reads them.
	bad, err := r.store.Quarantine(ctx, lastHour)
	if err != nil {
		return 0, err
	}
	for _, q := range bad {
		r.metrics.quarantined.Inc()
		r.log.Error("relay: record quarantined: it cannot be sent; the other records go on",
			"product", q.Product, "customer", q.Customer, "dimension", q.Dimension, "hour", q.Hour, "reason", q.Reason)
	}
	if _, err := r.store.Freeze(ctx, lastHour); err != nil {
		return 0, err
	}
	settled := 0
	for {
		due, err := r.store.Claim(ctx, time.Now(), claimBatch, r.cfg.Lease)
		if err != nil {
			return settled, err
		}
		n, err := r.submitClaimed(ctx, now, due)
		settled += n
		if err != nil {
			// Let another pass, or another relay, send them without waiting
			// for the lease to end; the store may be what failed, so this is
			// best effort.
			keys := make([]Key, len(due))
			for i, rec := range due {
				keys[i] = rec.Key
			}
			relCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			r.store.Release(relCtx, keys)
			cancel()
			return settled, err
		}
		if len(due) < claimBatch {
			break // every due record was claimed
		}
	}
	r.updateBacklogAge(ctx)
	return settled, nil
}

// submitClaimed expires the claimed records that can no longer reach the
// upstream in time (now is the relay clock) and sends the others.
func (r *Relay) submitClaimed(ctx context.Context, now time.Time, due []*Record) (int, error) {
	settled := 0
	var send []*Record
	for _, rec := range due {
		if now.Add(expiryMargin).Sub(rec.Timestamp) >= r.cfg.Window {
			if err := r.settle(ctx, rec, OutcomeExpired, "", "the record left the upstream's window before it was accepted"); err != nil {
				return settled, err
			}
			settled++
			continue
		}
		send = append(send, rec)
	}
	for _, chunk := range chunks(send) {
		n, err := r.send(ctx, chunk)
		settled += n
		if err != nil {
			return settled, err
		}
	}
	return settled, nil
}

// chunks splits records (sorted by product) into requests of one product,
// at most 25 records and under 1 MB.
func chunks(recs []*Record) [][]*Record {
	var out [][]*Record
	var cur []*Record
	size := 0
	for _, rec := range recs {
		sz := recordSize(rec)
		if len(cur) > 0 && (cur[0].Product != rec.Product || len(cur) == maxRecordsPerRequest || size+sz > maxRequestBytes-4096) {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, rec)
		size += sz
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// recordSize is an upper estimate of a record's size in the JSON request.
func recordSize(rec *Record) int {
	n := 200 + len(rec.Customer) + len(rec.Dimension) + len(rec.LicenseArn)
	for _, a := range rec.Allocations {
		n += 60
		for _, t := range a.Tags {
			n += 30 + len(t.Key) + len(t.Value)
		}
	}
	return n
}

// usageRecord is the frozen aggregate as a BatchMeterUsage record. It is
// the same on every attempt.
func usageRecord(rec *Record) types.UsageRecord {
	u := types.UsageRecord{
		Dimension: aws.String(rec.Dimension),
		Timestamp: aws.Time(rec.Timestamp),
		Quantity:  aws.Int32(int32(rec.Quantity)),
	}
	if rec.CustomerIdentifier != "" {
		u.CustomerIdentifier = aws.String(rec.CustomerIdentifier)
	} else {
		u.CustomerAWSAccountId = aws.String(rec.CustomerAWSAccountID)
	}
	for _, a := range rec.Allocations {
		ua := types.UsageAllocation{AllocatedUsageQuantity: aws.Int32(int32(*a.AllocatedUsageQuantity))}
		for _, t := range a.Tags {
			ua.Tags = append(ua.Tags, types.Tag{Key: aws.String(t.Key), Value: aws.String(t.Value)})
		}
		u.UsageAllocations = append(u.UsageAllocations, ua)
	}
	return u
}

// matchKey identifies a record of one request in the upstream's answer.
type matchKey struct {
	customer, dimension string
	hour                int64
}

func keyOfUsage(u *types.UsageRecord) matchKey {
	k := matchKey{customer: aws.ToString(u.CustomerIdentifier), dimension: aws.ToString(u.Dimension)}
	if k.customer == "" {
		k.customer = aws.ToString(u.CustomerAWSAccountId)
	}
	if u.Timestamp != nil {
		k.hour = meterd.Hour(*u.Timestamp).Unix()
	}
	return k
}

// send submits one request's records and stores each outcome; records
// without a final outcome are scheduled for a retry.
func (r *Relay) send(ctx context.Context, recs []*Record) (int, error) {
	if err := r.waitRate(ctx); err != nil {
		return 0, err
	}
	in := &marketplacemetering.BatchMeterUsageInput{ProductCode: aws.String(recs[0].Product)}
	byKey := make(map[matchKey]*Record, len(recs))
	arns := make([]string, 0, len(recs))
	for _, rec := range recs {
		arns = append(arns, rec.LicenseArn)
		u := usageRecord(rec)
		in.UsageRecords = append(in.UsageRecords, u)
		byKey[keyOfUsage(&u)] = rec
	}
	out, err := r.cfg.Upstream.BatchMeterUsage(WithLicenseArns(ctx, arns), in)
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return r.requestFailed(ctx, recs, err)
	}
	r.authOK()
	settled := 0
	for _, res := range out.Results {
		if res.UsageRecord == nil {
			continue
		}
		k := keyOfUsage(res.UsageRecord)
		rec := byKey[k]
		if rec == nil {
			continue
		}
		delete(byKey, k)
		if err := r.settle(ctx, rec, string(res.Status), aws.ToString(res.MeteringRecordId), ""); err != nil {
			return settled, err
		}
		settled++
	}
	// Unprocessed records, and any the answer did not mention, are retried.
	for _, rec := range byKey {
		r.metrics.retries.WithLabelValues("Unprocessed").Inc()
		if err := r.retry(ctx, rec, "Unprocessed: the upstream returned the record in UnprocessedRecords"); err != nil {
			return settled, err
		}
	}
	return settled, nil
}

// waitRate waits for this request's turn under the upstream's rate, which
// relays sharing the store share: the store hands out send times.
func (r *Relay) waitRate(ctx context.Context) error {
	interval := time.Duration(float64(time.Second) / r.cfg.Rate)
	slot, err := r.store.Reserve(ctx, r.cfg.RateKey, time.Now(), interval)
	if err != nil {
		return err
	}
	d := time.Until(slot)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// requestFailed handles a request that failed as a whole: transient and
// credential errors are retried with backoff (a credential error is also
// alerted: it needs the operator, and the records wait for the fix); a
// permanent error fails a lone record, and a request of several records is
// resent one record at a time so that one bad record does not hold back
// the others.
func (r *Relay) requestFailed(ctx context.Context, recs []*Record, err error) (int, error) {
	code, kind := classify(err)
	switch kind {
	case errCredentials:
		r.authFailed(code, err, len(recs))
		fallthrough
	case errTransient:
		if kind == errTransient {
			r.log.Warn("relay: upstream request failed; retrying", "product", recs[0].Product, "records", len(recs), "code", code, "err", err)
		}
		for _, rec := range recs {
			r.metrics.retries.WithLabelValues(code).Inc()
			if err := r.retry(ctx, rec, code+": "+err.Error()); err != nil {
				return 0, err
			}
		}
		return 0, nil
	}
	if len(recs) > 1 {
		settled := 0
		for _, rec := range recs {
			n, err := r.send(ctx, []*Record{rec})
			settled += n
			if err != nil {
				return settled, err
			}
		}
		return settled, nil
	}
	outcome := OutcomeFailed
	if code == "TimestampOutOfBoundsException" {
		outcome = OutcomeExpired
	}
	return 1, r.settle(ctx, recs[0], outcome, "", code+": "+err.Error())
}

// errKind is what a failed request's error means for its records.
type errKind int

const (
	errPermanent   errKind = iota // the records can never be accepted as they are
	errTransient                  // try again later
	errCredentials                // the relay's credentials were refused: try again later, and alert
)

// credentialCodes are the error codes of AWS services (and meterd) that
// refuse the caller's credentials or their permissions. None says the
// record is wrong: once the operator fixes the key, role or policy, the
// same record is accepted.
var credentialCodes = map[string]bool{
	"AccessDenied": true, "AccessDeniedException": true,
	"AuthFailure":  true,
	"ExpiredToken": true, "ExpiredTokenException": true,
	"IncompleteSignature": true, "IncompleteSignatureException": true,
	"InvalidAccessKeyId":   true,
	"InvalidClientTokenId": true,
	"InvalidSignature":     true, "InvalidSignatureException": true,
	"MissingAuthenticationToken": true, "MissingAuthenticationTokenException": true,
	"NotAuthorized":         true,
	"RequestExpired":        true,
	"SignatureDoesNotMatch": true,
	"UnauthorizedOperation": true,
	"UnrecognizedClient":    true, "UnrecognizedClientException": true,
}

// classify returns an error's code and what it means: throttling, 5xx
// answers and network errors are transient; credential codes, any 401 or
// 403 answer and a failure to get credentials are credential errors;
// anything else the upstream answered is permanent.
func classify(err error) (code string, kind errKind) {
	var apiErr smithy.APIError
	var respErr *smithyhttp.ResponseError
	status := 0
	if errors.As(err, &respErr) {
		status = respErr.HTTPStatusCode()
	}
	if errors.As(err, &apiErr) {
		code = apiErr.ErrorCode()
		switch {
		case credentialCodes[code], status == 401, status == 403:
			return code, errCredentials
		case code == "ThrottlingException", code == "InternalServiceErrorException", status >= 500:
			return code, errTransient
		}
		return code, errPermanent
	}
	switch {
	case status == 401, status == 403:
		return fmt.Sprintf("HTTP%d", status), errCredentials
	case status >= 500:
		return "HTTP5xx", errTransient
	case isCredentialsError(err):
		return "NoCredentials", errCredentials
	}
	return "NetworkError", errTransient
}

// isCredentialsError reports whether err is a failure to get credentials
// from the chain of a client made by NewUpstream (no request was sent).
func isCredentialsError(err error) bool {
	var ce *CredentialsError
	return errors.As(err, &ce)
}

// authFailed alerts a request refused for the relay's credentials: an
// error log (at most one a minute while it lasts), a metric and the
// relay's status, until a request succeeds again.
func (r *Relay) authFailed(code string, err error, records int) {
	r.metrics.authErrors.WithLabelValues(code).Inc()
	r.metrics.authFailing.Set(1)
	now := time.Now()
	r.alertMu.Lock()
	if r.authAlert == nil {
		r.authAlert = &AuthAlert{Since: now}
	}
	r.authAlert.Code, r.authAlert.Message, r.authAlert.Last = code, err.Error(), now
	logIt := now.Sub(r.authLogged) >= time.Minute
	if logIt {
		r.authLogged = now
	}
	r.alertMu.Unlock()
	if logIt {
		r.log.Error("relay: the upstream refused the relay's credentials; the records are kept and retried, fix the key, role or policy",
			"code", code, "records", records, "err", err)
	}
}

// authOK ends a credential alert: a request was answered.
func (r *Relay) authOK() {
	r.alertMu.Lock()
	was := r.authAlert
	r.authAlert = nil
	r.alertMu.Unlock()
	if was != nil {
		r.metrics.authFailing.Set(0)
		r.log.Info("relay: the upstream accepts the relay's credentials again", "failing_since", was.Since)
	}
}

// AuthAlert is a credential problem in force: the upstream refused the
// relay's requests for its credentials since Since, the last time at Last.
type AuthAlert struct {
	Code    string    `json:"code"`
	Message string    `json:"message"`
	Since   time.Time `json:"since"` // wall time
	Last    time.Time `json:"last"`  // wall time
}

// retry schedules another attempt with exponential backoff and jitter.
func (r *Relay) retry(ctx context.Context, rec *Record, msg string) error {
	d := r.cfg.RetryBase << min(rec.Attempts, 20)
	if d <= 0 || d > r.cfg.RetryMax {
		d = r.cfg.RetryMax
	}
	d = d/2 + rand.N(d/2+1) // jitter: spread retries of one failed request apart
	return r.store.Retry(ctx, rec.Key, msg, time.Now().Add(d))
}

// settle stores a record's final outcome; anything but Success is alerted.
func (r *Relay) settle(ctx context.Context, rec *Record, outcome, id, msg string) error {
	if err := r.store.Settle(ctx, rec.Key, outcome, id, msg, r.clock.Now()); err != nil {
		return err
	}
	r.metrics.records.WithLabelValues(outcome).Inc()
	attrs := []any{"product", rec.Product, "customer", rec.Customer, "dimension", rec.Dimension,
		"hour", rec.Hour, "quantity", rec.Quantity, "outcome", outcome, "attempts", rec.Attempts + 1}
	switch outcome {
	case OutcomeSuccess:
		r.log.Debug("relay: record submitted", append(attrs, "metering_record_id", id)...)
	case OutcomeExpired, OutcomeFailed:
		r.log.Error("relay: record not metered", append(attrs, "err", msg)...)
	default:
		r.log.Warn("relay: record refused by the upstream", attrs...)
	}
	return nil
}

// updateBacklogAge sets the backlog-age gauge from the store.
func (r *Relay) updateBacklogAge(ctx context.Context) {
	oldest, err := r.store.OldestPending(ctx)
	if err != nil || oldest.IsZero() {
		r.metrics.backlogAge.Set(0)
		return
	}
	r.metrics.backlogAge.Set(r.clock.Now().Sub(oldest).Seconds())
}
