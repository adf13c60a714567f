package audit

import (
	"net"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/smm-architect/smm-appliance/web/auth"
)

// Request is what the authorization middleware saw of one request: its
// Kind is "login_failed", "denied", "write" or "admin_read".
type Request struct {
	Kind, User, Role, Remote, Method, Path string
	Status                                 int
}

// Machine names the machine traffic among writes: pushed samples and alerts
// sent by another Prometheus, amtool or a script. It is counted in metrics,
// not written to the audit log — at thousands of requests an hour it would
// push every change a person made out of the log — and "" means a person's
// or an admin's change, which is audited.
func Machine(method, p string) string {
	if strings.ToUpper(method) != "POST" {
		return ""
	}
	p = path.Clean("/" + p)
	p = strings.TrimPrefix(p, "/alertmanager")
	switch {
	case p == "/api/v1/write":
		return "remote_write"
	case p == "/api/v1/otlp" || strings.HasPrefix(p, "/api/v1/otlp/"):
		return "otlp"
	case p == "/api/v2/alerts" || p == "/api/v1/alerts":
		return "alerts"
	}
	return ""
}

// Recorder decides what of the middleware's events reaches the log.
// Machine writes become counters. Failed logins and denied requests are
// aggregated per client: the first of a window is written at once, the rest
// of that window as one line with their count when it ends, and beyond
// maxClients clients in one window all others share one line — so an
// anonymous flood costs a few lines a minute, not one per request.
type Recorder struct {
	write  func(Entry)
	window time.Duration

	machine  *prometheus.CounterVec
	failures *prometheus.CounterVec

	mtx     sync.Mutex
	buckets map[bucketKey]*bucket
	timer   *time.Timer
}

type bucketKey struct{ kind, remote string }

type bucket struct {
	first Entry // written when the bucket opened
	extra int   // events since, written when the window ends
	last  Entry
}

// maxClients bounds the distinct clients with lines of their own per window.
const maxClients = 100

// otherClients is the remote of the line shared by clients beyond maxClients.
const otherClients = "other clients"

// NewRecorder writes through write (the Log's Write, with its error
// handled) and registers its counters with reg.
func NewRecorder(write func(Entry), reg prometheus.Registerer) *Recorder {
	r := &Recorder{
		write: write, window: time.Minute, buckets: map[bucketKey]*bucket{},
		machine: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smm_appliance_machine_writes_total",
			Help: "Writes by machines (remote write, OTLP, alert posts), counted here instead of the audit log, by kind and status code.",
		}, []string{"kind", "code"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smm_appliance_auth_failures_total",
			Help: "Failed logins and denied requests, each counted (the audit log aggregates them per client and minute).",
		}, []string{"kind"}),
	}
	if reg != nil {
		reg.MustRegister(r.machine, r.failures)
	}
	return r
}

// Request records one middleware event.
func (r *Recorder) Request(q Request) {
	switch q.Kind {
	case "write", "admin_read":
		// Classified on the path the router served (cleaned, no trailing
		// slash, lower case); the line keeps the path as sent.
		route := auth.RoutePath(q.Path)
		if kind := Machine(q.Method, route); kind != "" {
			r.machine.WithLabelValues(kind, strconv.Itoa(q.Status)).Inc()
			return
		}
		r.write(Entry{Event: EventFor(q.Method, route), User: q.User, Role: q.Role, Remote: q.Remote, Method: q.Method, Path: q.Path, Status: q.Status})
	case "login_failed", "denied":
		r.failures.WithLabelValues(q.Kind).Inc()
		r.aggregate(Entry{Event: q.Kind, User: q.User, Role: q.Role, Remote: q.Remote, Method: q.Method, Path: q.Path, Status: q.Status})
	default:
		r.write(Entry{Event: q.Kind, User: q.User, Role: q.Role, Remote: q.Remote, Method: q.Method, Path: q.Path, Status: q.Status})
	}
}

func (r *Recorder) aggregate(e Entry) {
	e = bounded(e)
	e.Time = time.Now()
	k := bucketKey{e.Event, clientKey(e.Remote)}
	r.mtx.Lock()
	b, ok := r.buckets[k]
	if !ok && len(r.buckets) >= maxClients {
		k.remote = otherClients
		b, ok = r.buckets[k]
	}
	if ok {
		b.extra++
		b.last = e
		r.mtx.Unlock()
		return
	}
	first := e
	if k.remote == otherClients {
		first.Remote = otherClients
	}
	r.buckets[k] = &bucket{first: first, last: e}
	if r.timer == nil {
		r.timer = time.AfterFunc(r.window, r.Flush)
	}
	r.mtx.Unlock()
	first.Count = 1
	r.write(first)
}

// Flush ends the window: each client with more events than its first line
// gets one line with their count. Close calls it too.
func (r *Recorder) Flush() {
	r.mtx.Lock()
	buckets := r.buckets
	r.buckets = map[bucketKey]*bucket{}
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	r.mtx.Unlock()
	for k, b := range buckets {
		if b.extra == 0 {
			continue
		}
		e := b.last
		e.Count = b.extra
		if k.remote == otherClients {
			e.Remote = otherClients
		}
		r.write(e)
	}
}

// Close writes what is pending.
func (r *Recorder) Close() error {
	r.Flush()
	return nil
}

// clientKey is the client a failure counts against: its address, or the
// /64 network for IPv6, where one host holds a whole /64.
func clientKey(remote string) string {
	ip := net.ParseIP(remote)
	if ip == nil || ip.To4() != nil {
		return remote
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}
