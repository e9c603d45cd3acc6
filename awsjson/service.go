package awsjson

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/meterd/meterd"
)

// Service is one AWS service as Handler serves it: a table of operations, the
// protocol that frames them and the SigV4 name its requests are signed for.
// A service spoken in two protocols (awsJson1_1 and RPC v2 CBOR) is two
// Services of the same Name, one per protocol, whose operations call the same
// operation functions.
type Service struct {
	// Name is the service's shape name: X-Amz-Target's part before the dot
	// on awsJson (AWSMPMeteringService), the serviceName path segment on RPC
	// v2 (AWSMPEntitlementService).
	Name string
	// SigningName is the service of the SigV4 credential scope its requests
	// must carry: aws-marketplace, or sqs.
	SigningName string
	// Protocol frames its requests and answers: JSON10, JSON11, or an RPC v2
	// protocol.
	Protocol Protocol
	// Operations by operation name. Never modified once served.
	Operations map[string]Operation
	// Routes, set for a REST service (rest-json), are its operations' HTTP
	// method and path by operation name ("GET /DescribeEntity"): the
	// service is routed by them, not by X-Amz-Target or RPC v2 path, and
	// its operations read their query string with Query.
	Routes map[string]string
	// InternalError is the code an unexpected failure answers with, when
	// the service's model names it otherwise than
	// InternalServiceErrorException (the Agreement Service's
	// InternalServerException); its detail is logged as any other's.
	InternalError string
}

type queryKey struct{}

// Query returns the query string of the REST request whose operation runs
// with ctx (nil for others): REST inputs bind members to it.
func Query(ctx context.Context) url.Values {
	q, _ := ctx.Value(queryKey{}).(url.Values)
	return q
}

// Operation decodes a request body in its service's protocol, runs the
// operation with the caller in ctx and encodes its output. Its errors are
// written by the protocol.
type Operation func(ctx context.Context, body []byte) ([]byte, error)

// Protocol is the framing of one wire protocol: how a request names its
// operation, which requests it accepts and how answers are written.
type Protocol interface {
	// ByPath reports whether requests name service and operation in the
	// path (/service/<Service>/operation/<Operation>, Smithy RPC v2) rather
	// than in X-Amz-Target (awsJson).
	ByPath() bool
	// CheckRequest refuses a request the protocol does not frame, such as a
	// wrong Content-Type.
	CheckRequest(r *http.Request) error
	// WriteOutput writes a successful answer carrying body.
	WriteOutput(w http.ResponseWriter, body []byte)
	// WriteError writes err as the protocol's error answer, with the status
	// of StatusOf. Errors that are not *meterd.Error are written as
	// InternalServiceErrorException with a generic message.
	WriteError(w http.ResponseWriter, err error)
}

// Bind joins a decoder, an operation function and an encoder into an
// Operation. A nil output without an error is an internal error: answering
// an empty output would make the client believe the call succeeded.
func Bind[I, O any](decode func([]byte) (*I, error), op func(context.Context, *I) (*O, error), encode func(*O) ([]byte, error)) Operation {
	return func(ctx context.Context, body []byte) ([]byte, error) {
		in, err := decode(body)
		if err != nil {
			return nil, err
		}
		out, err := op(ctx, in)
		if err != nil {
			return nil, err
		}
		if out == nil {
			return nil, errors.New("awsjson: operation returned neither output nor error")
		}
		return encode(out)
	}
}

// route is what a request resolves to: its protocol (always set, so that
// an error can be written), and once known its service and operation.
type route struct {
	protocol Protocol
	service  *Service
	name     string
	call     Operation
	rest     bool // routed by method and path: any method, the query string in ctx
}

// routes are a Handler's dispatch tables, built once from its Services.
type routes struct {
	targets map[string]route    // full X-Amz-Target → operation
	prefix  map[string]Protocol // X-Amz-Target service part → its protocol
	paths   map[string]*Service // RPC v2 service name → service
	rpc     Protocol            // for errors of unroutable RPC v2 paths
	rest    map[string]route    // REST "METHOD /path" → operation
	restOf  map[string]Protocol // REST path → its service's protocol, for a wrong method
}

func (h *Handler) table() *routes {
	h.once.Do(func() {
		t := routes{targets: map[string]route{}, prefix: map[string]Protocol{}, paths: map[string]*Service{},
			rest: map[string]route{}, restOf: map[string]Protocol{}}
		for _, s := range h.Services {
			if s.Routes != nil {
				for name, mp := range s.Routes {
					t.rest[mp] = route{protocol: s.Protocol, service: s, name: name, call: s.Operations[name], rest: true}
					_, path, _ := strings.Cut(mp, " ")
					t.restOf[path] = s.Protocol
				}
				continue
			}
			if s.Protocol.ByPath() {
				t.paths[s.Name] = s
				if t.rpc == nil {
					t.rpc = s.Protocol
				}
				continue
			}
			t.prefix[s.Name] = s.Protocol
			for name, op := range s.Operations {
				t.targets[s.Name+"."+name] = route{protocol: s.Protocol, service: s, name: name, call: op}
			}
		}
		h.routes = t
	})
	return &h.routes
}

// route finds the operation a request names. An RPC v2 path of a served
// service routes by path, and such a request carrying X-Amz-Target is
// refused (Smithy's rule, so that a proxy routing on one cannot be made to
// run the other); anything else routes by X-Amz-Target. The route's
// protocol is set even with an error, to write that error.
func (h *Handler) route(r *http.Request) (route, error) {
	t := h.table()
	if rt, ok := t.rest[r.Method+" "+r.URL.Path]; ok {
		return rt, nil
	}
	if p := t.restOf[r.URL.Path]; p != nil && len(r.Header.Values("X-Amz-Target")) == 0 {
		return route{protocol: p, rest: true}, meterd.Errorf(meterd.EUnknownOperation, "No operation is %s %s", clip(r.Method), clip(r.URL.Path))
	}
	if service, op, ok := rpcPath(r.URL.Path); ok {
		s := t.paths[service]
		if s == nil && t.rpc != nil && len(r.Header.Values("X-Amz-Target")) == 0 {
			return route{protocol: t.rpc}, meterd.Errorf(meterd.EUnknownOperation, "Unknown service %q", clip(service))
		}
		if s != nil {
			rt := route{protocol: s.Protocol, service: s}
			if len(r.Header.Values("X-Amz-Target")) > 0 || len(r.Header.Values("X-Amzn-Target")) > 0 {
				return rt, meterd.Errorf(meterd.ESerialization, "An RPC v2 request must not carry X-Amz-Target")
			}
			call, found := s.Operations[op]
			if !found {
				return rt, meterd.Errorf(meterd.EUnknownOperation, "Unknown operation %q of %s", clip(op), s.Name)
			}
			rt.name, rt.call = op, call
			return rt, nil
		}
	}
	return t.lookupTarget(r.Header.Values("X-Amz-Target"))
}

// lookupTarget finds the operation named by the X-Amz-Target header values.
// Errors are written in the protocol of the target's service when the
// service is known, else in awsJson1_1.
func (t *routes) lookupTarget(values []string) (route, error) {
	switch len(values) {
	case 0:
		return route{protocol: JSON11}, meterd.Errorf(meterd.EUnknownOperation, "Missing X-Amz-Target header")
	case 1:
	default:
		return route{protocol: JSON11}, meterd.Errorf(meterd.EUnknownOperation, "More than one X-Amz-Target header")
	}
	rt, ok := t.targets[values[0]]
	if !ok {
		p := Protocol(JSON11)
		if i := strings.LastIndexByte(values[0], '.'); i >= 0 && t.prefix[values[0][:i]] != nil {
			p = t.prefix[values[0][:i]]
		}
		return route{protocol: p}, meterd.Errorf(meterd.EUnknownOperation, "Unknown operation %q", clip(values[0]))
	}
	return rt, nil
}

// rpcPath splits the last four segments of an RPC v2 path,
// .../service/<Service>/operation/<Operation>. A service given as an
// absolute shape id with '#' replaced by '.' (com.amazonaws.x.Service)
// routes as its name alone, as Smithy asks of servers.
func rpcPath(path string) (service, op string, ok bool) {
	seg := strings.Split(path, "/")
	if len(seg) < 5 {
		return "", "", false
	}
	seg = seg[len(seg)-4:]
	if seg[0] != "service" || seg[2] != "operation" || seg[1] == "" || seg[3] == "" {
		return "", "", false
	}
	service = seg[1]
	if i := strings.LastIndexByte(service, '.'); i >= 0 {
		service = service[i+1:]
	}
	return service, seg[3], true
}
