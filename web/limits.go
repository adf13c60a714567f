package web

import (
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Timeouts of the public listeners. There is no write timeout: queries run
// up to --query.timeout and the live notification stream is long-lived.
const (
	readHeaderTimeout = 10 * time.Second // also bounds the TLS handshake
	readTimeout       = 5 * time.Minute  // Prometheus' --web.read-timeout default
	idleTimeout       = 60 * time.Second
	selfMaxConns      = 16 // the loopback self-scrape listener
)

// connLimiter caps the connections open across listeners, as Prometheus'
// --web.max-connections does, so that callers cannot exhaust the process's
// file descriptors (the TSDB, WAL and snapshots need them). Unlike
// netutil.LimitListener, a full limiter does not stop accepting: a new
// connection evicts the one idle longest (a keep-alive connection between
// requests, or one that has not sent a whole request header yet: net/http
// marks a connection active only once the header is read, so slow-loris
// clients are evictable too), so a health check still gets through while
// such connections fill the cap. Only when every connection is in the
// middle of a request is the new one closed.
type connLimiter struct {
	max int

	mtx   sync.Mutex
	conns map[*limitedConn]struct{}

	open     prometheus.GaugeFunc
	evicted  prometheus.Counter
	rejected prometheus.Counter
}

func newConnLimiter(max int, name string) *connLimiter {
	l := &connLimiter{max: max, conns: map[*limitedConn]struct{}{}}
	l.open = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "smm_appliance_web_connections", Help: "Connections open on the listeners.", ConstLabels: prometheus.Labels{"listeners": name},
	}, func() float64 { l.mtx.Lock(); defer l.mtx.Unlock(); return float64(len(l.conns)) })
	l.evicted = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "smm_appliance_web_connections_evicted_total", Help: "Idle connections closed at the connection limit to admit a new one.", ConstLabels: prometheus.Labels{"listeners": name},
	})
	l.rejected = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "smm_appliance_web_connections_rejected_total", Help: "New connections closed at the connection limit because every connection was busy.", ConstLabels: prometheus.Labels{"listeners": name},
	})
	return l
}

func (l *connLimiter) collectors() []prometheus.Collector {
	return []prometheus.Collector{l.open, l.evicted, l.rejected}
}

// listener wraps ln so its connections count against l.
func (l *connLimiter) listener(ln net.Listener) net.Listener { return &limitListener{ln, l} }

// admit tracks c, making room by evicting if needed; nil means refused.
func (l *connLimiter) admit(c net.Conn) *limitedConn {
	lc := &limitedConn{Conn: c, l: l, state: http.StateNew, since: time.Now()}
	l.mtx.Lock()
	var victim *limitedConn
	if len(l.conns) >= l.max {
		for o := range l.conns {
			if (o.state == http.StateIdle || o.state == http.StateNew) && (victim == nil || o.since.Before(victim.since)) {
				victim = o
			}
		}
		if victim == nil {
			l.mtx.Unlock()
			l.rejected.Inc()
			return nil
		}
		delete(l.conns, victim)
	}
	l.conns[lc] = struct{}{}
	l.mtx.Unlock()
	if victim != nil {
		l.evicted.Inc()
		_ = victim.Conn.Close() // the server sees the error and calls Close
	}
	return lc
}

// setState is the http.Server's ConnState hook.
func (l *connLimiter) setState(c net.Conn, st http.ConnState) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	lc, ok := c.(*limitedConn)
	if !ok {
		return
	}
	l.mtx.Lock()
	lc.state, lc.since = st, time.Now()
	l.mtx.Unlock()
}

func (l *connLimiter) remove(c *limitedConn) {
	l.mtx.Lock()
	delete(l.conns, c)
	l.mtx.Unlock()
}

type limitListener struct {
	net.Listener
	l *connLimiter
}

func (ll *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := ll.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if lc := ll.l.admit(c); lc != nil {
			return lc, nil
		}
		_ = c.Close()
	}
}

type limitedConn struct {
	net.Conn
	l     *connLimiter
	once  sync.Once
	state http.ConnState // guarded by l.mtx
	since time.Time      // of the last state change; guarded by l.mtx
}

func (c *limitedConn) Close() error {
	c.once.Do(func() { c.l.remove(c) })
	return c.Conn.Close()
}
