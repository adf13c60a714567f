package slo

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ReportConfig is the `report` section of appliance.yml: where and when the
// weekly review is mailed.
type ReportConfig struct {
	// EmailTo is one or more addresses (RFC 5322 list); empty: no mail.
	EmailTo string `yaml:"email_to"`
	// Weekday and Time (HH:MM, the appliance's local time zone) of the
	// send; default monday 09:00.
	Weekday string `yaml:"weekday"`
	Time    string `yaml:"time"`

	weekday  time.Weekday
	hour     int
	minute   int
	rcpts    []string
	resolved bool
}

var weekdays = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

// UnmarshalYAML sets the defaults and checks the section.
func (c *ReportConfig) UnmarshalYAML(unmarshal func(any) error) error {
	type plain ReportConfig
	*c = ReportConfig{Weekday: "monday", Time: "09:00"}
	if err := unmarshal((*plain)(c)); err != nil {
		return err
	}
	return c.Validate()
}

// Validate checks the section and resolves its fields.
func (c *ReportConfig) Validate() error {
	wd, ok := weekdays[strings.ToLower(cmpOr(c.Weekday, "monday"))]
	if !ok {
		return fmt.Errorf("report.weekday: %q is not a day of the week", c.Weekday)
	}
	var h, m int
	if _, err := fmt.Sscanf(cmpOr(c.Time, "09:00"), "%d:%d", &h, &m); err != nil || h < 0 || h > 23 || m < 0 || m > 59 {
		return fmt.Errorf("report.time: %q is not HH:MM", c.Time)
	}
	c.weekday, c.hour, c.minute = wd, h, m
	c.rcpts = nil
	if strings.TrimSpace(c.EmailTo) != "" {
		list, err := mail.ParseAddressList(c.EmailTo)
		if err != nil {
			return fmt.Errorf("report.email_to: %w", err)
		}
		for _, a := range list {
			c.rcpts = append(c.rcpts, a.Address)
		}
	}
	c.resolved = true
	return nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Next is the first send time strictly after t.
func (c ReportConfig) Next(t time.Time) time.Time {
	if !c.resolved {
		_ = c.Validate()
	}
	d := time.Date(t.Year(), t.Month(), t.Day(), c.hour, c.minute, 0, 0, t.Location())
	for d.Weekday() != c.weekday || !d.After(t) {
		d = time.Date(d.Year(), d.Month(), d.Day()+1, c.hour, c.minute, 0, 0, t.Location())
	}
	return d
}

// SMTP is the mail relay: alertmanager.yml's global smtp_* settings.
type SMTP struct {
	Smarthost    string // host:port
	From         string
	Hello        string
	AuthUsername string
	AuthPassword string
	AuthIdentity string
	RequireTLS   bool
	TLS          *tls.Config
}

// ErrNotConfigured is returned by Send while no recipient or no relay is set.
var ErrNotConfigured = errors.New("weekly review: no report.email_to in appliance.yml or no smtp_smarthost/smtp_from in alertmanager.yml")

// mailSettings is what one send needs, swapped whole by ApplyConfig.
type mailSettings struct {
	report ReportConfig
	smtp   SMTP
	err    error // why the relay could not be set up
}

// Weekly mails the review of the past 7 days once a week. It is an actor:
// Run waits for the next send time, ApplyConfig changes the schedule and
// the relay (a changed schedule takes effect at once).
type Weekly struct {
	review func(ctx context.Context, now time.Time) Review
	logger *slog.Logger
	cur    atomic.Pointer[mailSettings]
	wake   chan struct{}
	sent   *prometheus.CounterVec
	last   prometheus.Gauge
	// first says whether this node sends the scheduled mail: in a
	// cluster only the first peer does, so a pair sends one, not two.
	first func() bool
	// send delivers one message (sendMail; tests replace it).
	send func(ctx context.Context, s SMTP, to []string, subject string, body []byte, now time.Time) error
}

// NewWeekly builds the weekly sender over a review function.
func NewWeekly(review func(ctx context.Context, now time.Time) Review, logger *slog.Logger, reg prometheus.Registerer) *Weekly {
	w := &Weekly{
		review: review, send: sendMail, logger: logger.With("component", "weekly review"), wake: make(chan struct{}, 1),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "smm_appliance_weekly_review_mails_total",
			Help: "Weekly review mails by outcome (sent, failed).",
		}, []string{"outcome"}),
		last: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "smm_appliance_weekly_review_last_success_timestamp_seconds",
			Help: "When the weekly review was last mailed.",
		}),
	}
	if reg != nil {
		reg.MustRegister(w.sent, w.last)
	}
	return w
}

// SetFirst makes the scheduled send depend on first (set before Run): in a
// cluster, whether this node is the first peer.
func (w *Weekly) SetFirst(first func() bool) { w.first = first }

// ApplyConfig sets the schedule and the relay. Without recipients or a
// smarthost nothing is sent. relayErr, if set, says why the relay could not
// be read (an unreadable password file): each send then fails with it,
// logged, while the rest of the configuration applies.
func (w *Weekly) ApplyConfig(r ReportConfig, s SMTP, relayErr error) {
	if !r.resolved {
		_ = r.Validate()
	}
	w.cur.Store(&mailSettings{report: r, smtp: s, err: relayErr})
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (ms *mailSettings) enabled() bool {
	return ms != nil && len(ms.report.rcpts) > 0 && (ms.err != nil || ms.smtp.Smarthost != "" && ms.smtp.From != "")
}

// Run sends the review at each scheduled time until ctx ends.
func (w *Weekly) Run(ctx context.Context) error {
	for {
		ms := w.cur.Load()
		var fire <-chan time.Time
		var timer *time.Timer
		if ms.enabled() {
			at := ms.report.Next(time.Now())
			timer = time.NewTimer(time.Until(at))
			fire = timer.C
		}
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return nil
		case <-w.wake:
			if timer != nil {
				timer.Stop()
			}
		case now := <-fire:
			if w.first != nil && !w.first() {
				w.logger.Debug("weekly review left to the first cluster peer")
				continue
			}
			if err := w.Send(ctx, now); err != nil {
				w.logger.Error("send weekly review", "err", err)
			}
		}
	}
}

// Send mails the review ending at now to the configured recipients.
func (w *Weekly) Send(ctx context.Context, now time.Time) error {
	ms := w.cur.Load()
	if !ms.enabled() {
		return ErrNotConfigured
	}
	if ms.err != nil {
		w.sent.WithLabelValues("failed").Inc()
		return fmt.Errorf("weekly review relay: %w", ms.err)
	}
	rv := w.review(ctx, now)
	var body bytes.Buffer
	if err := WriteMarkdown(&body, rv); err != nil {
		return err
	}
	subject := fmt.Sprintf("SMM alerting review, week to %s", now.UTC().Format("2006-01-02"))
	if err := w.send(ctx, ms.smtp, ms.report.rcpts, subject, body.Bytes(), now); err != nil {
		w.sent.WithLabelValues("failed").Inc()
		return err
	}
	w.sent.WithLabelValues("sent").Inc()
	w.last.Set(float64(now.Unix()))
	w.logger.Info("weekly review mailed", "recipients", len(ms.report.rcpts))
	return nil
}

// sendMail sends one text/markdown message. Port 465 is implicit TLS;
// otherwise STARTTLS when the relay offers it, required if RequireTLS
// (Alertmanager's default).
func sendMail(ctx context.Context, s SMTP, to []string, subject string, body []byte, now time.Time) error {
	host, port, err := net.SplitHostPort(s.Smarthost)
	if err != nil {
		return fmt.Errorf("smtp smarthost %q: %w", s.Smarthost, err)
	}
	tlsConf := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if s.TLS != nil {
		tlsConf = s.TLS.Clone()
		if tlsConf.ServerName == "" {
			tlsConf.ServerName = host
		}
	}
	d := &net.Dialer{Timeout: 30 * time.Second}
	var conn net.Conn
	if port == "465" {
		conn, err = (&tls.Dialer{NetDialer: d, Config: tlsConf}).DialContext(ctx, "tcp", s.Smarthost)
	} else {
		conn, err = d.DialContext(ctx, "tcp", s.Smarthost)
	}
	if err != nil {
		return fmt.Errorf("connect to smtp %s: %w", s.Smarthost, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	} else {
		_ = conn.SetDeadline(time.Now().Add(2 * time.Minute))
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp %s: %w", s.Smarthost, err)
	}
	defer c.Close()
	if s.Hello != "" {
		if err := c.Hello(s.Hello); err != nil {
			return fmt.Errorf("smtp hello: %w", err)
		}
	}
	if port != "465" {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsConf); err != nil {
				return fmt.Errorf("smtp starttls: %w", err)
			}
		} else if s.RequireTLS {
			return fmt.Errorf("smtp %s does not offer STARTTLS and smtp_require_tls is set", s.Smarthost)
		}
	}
	if s.AuthUsername != "" {
		if ok, _ := c.Extension("AUTH"); ok {
			if err := c.Auth(smtp.PlainAuth(s.AuthIdentity, s.AuthUsername, s.AuthPassword, host)); err != nil {
				return fmt.Errorf("smtp auth: %w", err)
			}
		}
	}
	if err := c.Mail(addrOnly(s.From)); err != nil {
		return fmt.Errorf("smtp mail from: %w", err)
	}
	for _, r := range to {
		if err := c.Rcpt(r); err != nil {
			return fmt.Errorf("smtp rcpt %s: %w", r, err)
		}
	}
	wc, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	msg, err := buildMessage(s.From, to, subject, body, now)
	if err != nil {
		return err
	}
	if _, err := wc.Write(msg); err != nil {
		return fmt.Errorf("smtp write: %w", err)
	}
	if err := wc.Close(); err != nil {
		return fmt.Errorf("smtp send: %w", err)
	}
	return c.Quit()
}

func addrOnly(s string) string {
	if a, err := mail.ParseAddress(s); err == nil {
		return a.Address
	}
	return s
}

// buildMessage is a multipart/alternative message: the Markdown as
// text/plain (readable as is), and the same in a <pre> block as text/html,
// so mail clients that prefer HTML keep the table columns aligned.
func buildMessage(from string, to []string, subject string, body []byte, now time.Time) ([]byte, error) {
	var msg bytes.Buffer
	mw := multipart.NewWriter(&msg)
	fmt.Fprintf(&msg, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=%s\r\n\r\n",
		from, strings.Join(to, ", "), mime.QEncoding.Encode("UTF-8", subject), now.Format(time.RFC1123Z), mw.Boundary())
	parts := []struct {
		ctype string
		text  string
	}{
		{"text/plain; charset=UTF-8", string(body)},
		{"text/html; charset=UTF-8", "<!DOCTYPE html><html><body><pre style=\"font-family: monospace\">" + html.EscapeString(string(body)) + "</pre></body></html>\n"},
	}
	for _, p := range parts {
		w, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {p.ctype}, "Content-Transfer-Encoding": {"quoted-printable"}})
		if err != nil {
			return nil, fmt.Errorf("build mail: %w", err)
		}
		qp := quotedprintable.NewWriter(w)
		if _, err := qp.Write([]byte(strings.ReplaceAll(p.text, "\n", "\r\n"))); err != nil {
			return nil, fmt.Errorf("build mail: %w", err)
		}
		if err := qp.Close(); err != nil {
			return nil, fmt.Errorf("build mail: %w", err)
		}
	}
	if err := mw.Close(); err != nil {
		return nil, fmt.Errorf("build mail: %w", err)
	}
	return msg.Bytes(), nil
}
