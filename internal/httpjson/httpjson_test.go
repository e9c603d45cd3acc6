package httpjson

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestEndpoint(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":{"code":"Unauthorized","message":"a valid bearer token is required"}}`)
			return
		}
		switch r.URL.Path {
		case "/echo":
			b, _ := io.ReadAll(r.Body)
			w.Header().Set("Content-Type", "application/json")
			w.Write(b)
		default:
			http.Error(w, "not here", http.StatusNotFound) // not the APIs' JSON
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	e := Endpoint{API: "test API", BaseURL: srv.URL + "/", Token: "tok"}

	var got map[string]int
	if err := e.Call(ctx, "POST", "/echo", nil, map[string]int{"a": 1}, &got); err != nil || got["a"] != 1 {
		t.Errorf("Call with a JSON body = %v, %v; want a=1, nil", got, err)
	}
	got = nil
	if err := e.Call(ctx, "POST", "/echo", nil, []byte(`{"b":2}`), &got); err != nil || got["b"] != 2 {
		t.Errorf("Call with a []byte body = %v, %v; want b=2 sent as is, nil", got, err)
	}
	for _, tt := range []struct {
		name      string
		e         Endpoint
		path      string
		status    int
		code, msg string
	}{
		{"JSON error", Endpoint{API: "test API", BaseURL: srv.URL, Token: "wrong"}, "/echo", 401, "Unauthorized", "a valid bearer token is required"},
		{"text error", e, "/elsewhere", 404, "Not Found", "not here"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.e.Call(ctx, "GET", tt.path, nil, nil, nil)
			var ae *Error
			if !errors.As(err, &ae) || ae.Status != tt.status || ae.Code != tt.code || ae.Message != tt.msg {
				t.Fatalf("Call = %v, want *Error %d %s %q", err, tt.status, tt.code, tt.msg)
			}
			if want := "test API: "; err.Error()[:len(want)] != want {
				t.Errorf("Error() = %q, want it to start with %q", err.Error(), want)
			}
		})
	}
}
