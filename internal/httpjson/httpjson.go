// Package httpjson is the client side of meterd's own JSON APIs, the admin
// API and the relay's: a bearer token, JSON bodies, and errors answered as
// {"error": {"code": ..., "message": ...}}.
package httpjson

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Error is an error answer (status 400 or more) of one of the APIs.
type Error struct {
	API     string // "admin API" or "relay API", for the message
	Status  int    // HTTP status
	Code    string // such as NotFound, Conflict, Invalid, BadRequest, Unauthorized
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("%s: %d %s: %s", e.API, e.Status, e.Code, e.Message)
}

// Endpoint is one server of one of the APIs.
type Endpoint struct {
	API        string // "admin API" or "relay API", for messages
	BaseURL    string // such as http://127.0.0.1:4579
	Token      string // the bearer token
	HTTPClient *http.Client
}

// Do sends a request and returns the response of a 2xx answer; the caller
// closes its body. body, when non-nil, is sent as JSON (a []byte as it is).
// An answer with a status of 400 or more is returned as *Error.
func (e Endpoint) Do(ctx context.Context, method, path string, query url.Values, body any) (*http.Response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(j)
	}
	u := strings.TrimRight(e.BaseURL, "/") + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+e.Token)
	req.Header.Set("Accept", "application/json")
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := e.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		return nil, e.responseError(resp)
	}
	return resp, nil
}

// responseError reads an error answer; one that is not the APIs' JSON
// keeps its text as the message.
func (e Endpoint) responseError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var body struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal(b, &body); err != nil || body.Error.Code == "" {
		return &Error{API: e.API, Status: resp.StatusCode, Code: http.StatusText(resp.StatusCode), Message: strings.TrimSpace(string(b))}
	}
	return &Error{API: e.API, Status: resp.StatusCode, Code: body.Error.Code, Message: body.Error.Message}
}

// Call is Do, decoding a JSON answer into out (unless nil).
func (e Endpoint) Call(ctx context.Context, method, path string, query url.Values, body, out any) error {
	resp, err := e.Do(ctx, method, path, query, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, err := io.Copy(io.Discard, resp.Body)
		return err
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s: %s %s: decode answer: %w", e.API, method, path, err)
	}
	return nil
}
